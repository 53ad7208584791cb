// Applicability expressions: a small, safe language over the capability statement (no eval).
//
//   expr    := or
//   or      := and ( '||' and )*
//   and     := unary ( '&&' unary )*
//   unary   := '!' unary | compare
//   compare := value ( ( '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'contains' ) value )?
//   value   := '(' expr ')' | '[' ( value ( ',' value )* )? ']' | string | number | 'true' | 'false' | name
//   name    := [A-Za-z_][A-Za-z0-9_-]* ( '.' [A-Za-z_][A-Za-z0-9_-]* )*      e.g. digest.qop, msk-push
//   string  := '...' | "..."   (no escapes beyond \' \" \\)
//
// A bare name is true when the capability is `true` (or a non-empty string/list, a non-zero number).
// Names are resolved in the capability statement; a name that the statement does not define is an error at
// evaluation (`ExpressionError`), never silently false, and the loader checks every name against the
// capability schema so a typo in a suite file fails fast.

import { ExpressionError } from './errors.ts';

export type Value = boolean | number | string | Value[] | undefined;

export type Expr =
  | { kind: 'literal'; value: Value }
  | { kind: 'name'; path: string; offset: number }
  | { kind: 'list'; items: Expr[] }
  | { kind: 'not'; operand: Expr }
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'compare'; op: CompareOp; left: Expr; right: Expr; offset: number };

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'contains';

interface Token { type: 'op' | 'name' | 'string' | 'number' | 'end'; text: string; offset: number; value?: Value }

const OPERATORS = ['&&', '||', '==', '!=', '<=', '>=', '<', '>', '!', '(', ')', '[', ']', ','];

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (/\s/.test(ch)) { i++; continue; }
    const op = OPERATORS.find((o) => source.startsWith(o, i));
    if (op) { tokens.push({ type: 'op', text: op, offset: i }); i += op.length; continue; }
    if (ch === '"' || ch === "'") {
      let j = i + 1; let text = '';
      while (j < source.length && source[j] !== ch) {
        if (source[j] === '\\' && j + 1 < source.length) { text += source[j + 1]; j += 2; continue; }
        text += source[j]; j++;
      }
      if (j >= source.length) throw new ExpressionError(source, i, 'unterminated string');
      tokens.push({ type: 'string', text: source.slice(i, j + 1), offset: i, value: text });
      i = j + 1; continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(source.slice(i));
    if (num) { tokens.push({ type: 'number', text: num[0], offset: i, value: Number(num[0]) }); i += num[0].length; continue; }
    const name = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*/.exec(source.slice(i));
    if (name) { tokens.push({ type: 'name', text: name[0], offset: i }); i += name[0].length; continue; }
    throw new ExpressionError(source, i, `unexpected character '${ch}'`);
  }
  tokens.push({ type: 'end', text: '', offset: source.length });
  return tokens;
}

/** Parses an expression; throws ExpressionError naming the offset of the first problem. */
export function parseExpression(source: string): Expr {
  const tokens = tokenize(source);
  let pos = 0;
  const peek = (): Token => tokens[pos]!;
  const isOp = (text: string): boolean => peek().type === 'op' && peek().text === text;
  const expectOp = (text: string): void => {
    if (!isOp(text)) throw new ExpressionError(source, peek().offset, `expected '${text}' but found '${peek().text || 'end'}'`);
    pos++;
  };

  const parseOr = (): Expr => {
    let left = parseAnd();
    while (isOp('||')) { pos++; left = { kind: 'or', left, right: parseAnd() }; }
    return left;
  };
  const parseAnd = (): Expr => {
    let left = parseUnary();
    while (isOp('&&')) { pos++; left = { kind: 'and', left, right: parseUnary() }; }
    return left;
  };
  const parseUnary = (): Expr => {
    if (isOp('!')) { pos++; return { kind: 'not', operand: parseUnary() }; }
    return parseCompare();
  };
  const parseCompare = (): Expr => {
    const left = parseValue();
    const t = peek();
    const op = (t.type === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.text)) ? t.text
      : (t.type === 'name' && (t.text === 'in' || t.text === 'contains')) ? t.text : undefined;
    if (!op) return left;
    pos++;
    return { kind: 'compare', op: op as CompareOp, left, right: parseValue(), offset: t.offset };
  };
  const parseValue = (): Expr => {
    const t = peek();
    if (isOp('(')) { pos++; const inner = parseOr(); expectOp(')'); return inner; }
    if (isOp('[')) {
      pos++;
      const items: Expr[] = [];
      if (!isOp(']')) {
        items.push(parseValue());
        while (isOp(',')) { pos++; items.push(parseValue()); }
      }
      expectOp(']');
      return { kind: 'list', items };
    }
    if (t.type === 'string' || t.type === 'number') { pos++; return { kind: 'literal', value: t.value }; }
    if (t.type === 'name') {
      pos++;
      if (t.text === 'true') return { kind: 'literal', value: true };
      if (t.text === 'false') return { kind: 'literal', value: false };
      if (t.text === 'in' || t.text === 'contains') throw new ExpressionError(source, t.offset, `'${t.text}' needs a value on its left`);
      return { kind: 'name', path: t.text, offset: t.offset };
    }
    throw new ExpressionError(source, t.offset, t.type === 'end' ? 'unexpected end of expression' : `unexpected '${t.text}'`);
  };

  const expr = parseOr();
  if (peek().type !== 'end') throw new ExpressionError(source, peek().offset, `unexpected '${peek().text}' after a complete expression`);
  return expr;
}

/** Every capability name the expression refers to. */
export function namesIn(expr: Expr): string[] {
  switch (expr.kind) {
    case 'literal': return [];
    case 'name': return [expr.path];
    case 'list': return expr.items.flatMap(namesIn);
    case 'not': return namesIn(expr.operand);
    case 'and': case 'or': case 'compare': return [...namesIn(expr.left), ...namesIn(expr.right)];
  }
}

function truthy(v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0;
  return v !== undefined && v !== false && v !== 0 && v !== '';
}

function lookup(capabilities: Record<string, unknown>, path: string): { found: boolean; value: Value } {
  if (Object.prototype.hasOwnProperty.call(capabilities, path)) return { found: true, value: capabilities[path] as Value };
  let node: unknown = capabilities;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.prototype.hasOwnProperty.call(node, part)) {
      return { found: false, value: undefined };
    }
    node = (node as Record<string, unknown>)[part];
  }
  return { found: true, value: node as Value };
}

/** Evaluates a parsed expression over a capability statement (a JSON object). */
export function evaluate(expr: Expr, capabilities: Record<string, unknown>, source = ''): boolean {
  return truthy(valueOf(expr, capabilities, source));
}

function valueOf(expr: Expr, caps: Record<string, unknown>, source: string): Value {
  switch (expr.kind) {
    case 'literal': return expr.value;
    case 'list': return expr.items.map((i) => valueOf(i, caps, source));
    case 'name': {
      const { found, value } = lookup(caps, expr.path);
      if (!found) throw new ExpressionError(source, expr.offset, `the capability statement does not define '${expr.path}'`);
      return value;
    }
    case 'not': return !truthy(valueOf(expr.operand, caps, source));
    case 'and': return truthy(valueOf(expr.left, caps, source)) && truthy(valueOf(expr.right, caps, source));
    case 'or': return truthy(valueOf(expr.left, caps, source)) || truthy(valueOf(expr.right, caps, source));
    case 'compare': {
      const l = valueOf(expr.left, caps, source);
      const r = valueOf(expr.right, caps, source);
      switch (expr.op) {
        case '==': return equal(l, r);
        case '!=': return !equal(l, r);
        case 'in': return Array.isArray(r) ? r.some((x) => equal(x, l)) : typeof r === 'string' && typeof l === 'string' && r.includes(l);
        case 'contains': return Array.isArray(l) ? l.some((x) => equal(x, r)) : typeof l === 'string' && typeof r === 'string' && l.includes(r);
        default: {
          if (typeof l !== 'number' || typeof r !== 'number') {
            throw new ExpressionError(source, expr.offset, `'${expr.op}' compares numbers, got ${JSON.stringify(l)} and ${JSON.stringify(r)}`);
          }
          return expr.op === '<' ? l < r : expr.op === '<=' ? l <= r : expr.op === '>' ? l > r : l >= r;
        }
      }
    }
  }
}

function equal(a: Value, b: Value): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  return a === b;
}

/** Parses and evaluates in one go (for callers that do not cache the parse). */
export function isApplicable(source: string | undefined, capabilities: Record<string, unknown>): boolean {
  if (source === undefined || source.trim() === '') return true;
  return evaluate(parseExpression(source), capabilities, source);
}
