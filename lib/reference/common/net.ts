// Socket helpers shared by the references: bind with a clear error, report the bound endpoint.

import type { IncomingMessage, Server } from 'node:http';
import type { Socket as UdpSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { ReferenceListenError } from './errors.ts';

export interface Endpoint { address: string; port: number }

/**
 * Starts a socket (`start` calls listen or bind) and resolves with the endpoint it bound; rejects with
 * ReferenceListenError (EADDRINUSE, ...) naming the socket. Whichever of 'listening' and 'error' comes
 * first removes the other listener.
 */
function started(socket: Server | UdpSocket, socketName: string, at: Endpoint, start: () => void): Promise<Endpoint> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      socket.off('listening', onListening);
      reject(new ReferenceListenError(socketName, at.address, at.port, error.code ?? 'ERROR', { cause: error }));
    };
    const onListening = () => {
      socket.off('error', onError);
      const bound = socket.address() as AddressInfo;
      resolve({ address: bound.address, port: bound.port });
    };
    socket.once('error', onError);
    socket.once('listening', onListening);
    start();
  });
}

/** Starts `server` listening; rejects with ReferenceListenError (EADDRINUSE, ...) naming the socket. */
export function listenHttp(server: Server, socketName: string, at: Endpoint): Promise<Endpoint> {
  return started(server, socketName, at, () => server.listen({ host: at.address, port: at.port, exclusive: true }));
}

/** Binds a UDP socket; rejects with ReferenceListenError naming the socket. */
export function bindUdp(socket: UdpSocket, socketName: string, at: Endpoint): Promise<Endpoint> {
  return started(socket, socketName, at, () => socket.bind({ address: at.address, port: at.port, exclusive: true }));
}

/** Closes an HTTP server, ending idle keep-alive connections so close() does not hang. */
export function closeHttp(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) { resolve(); return; }
    server.close(() => resolve());
    server.closeIdleConnections();
    // Connections in the middle of a request finish; anything still open after that is cut.
    setImmediate(() => server.closeAllConnections());
  });
}

/** Closes a UDP socket; resolves at once when it is already closed. */
export function closeUdp(socket: UdpSocket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // ERR_SOCKET_DGRAM_NOT_RUNNING: never bound or already closed
    }
  });
}

/** `address:port`, with brackets for IPv6. */
export function formatEndpoint(e: Endpoint): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/**
 * The body of an HTTP request, at most `limit` octets. A larger body rejects with `tooLarge(limit)` and the
 * rest of the upload is drained unread; an aborted or failed upload rejects with the stream's error.
 */
export function readRequestBody(req: IncomingMessage, limit: number, tooLarge: (limit: number) => Error): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('request aborted')));
  });
}
