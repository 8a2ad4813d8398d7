// Nomad's `filter` query parameter: the go-bexpr expression language, parsed
// once and evaluated against the very objects a list answers (PascalCase
// fields). A filter that does not parse is refused with the position of the
// error, as Nomad does ("1:12 (11): ...").
//
//   expr     := or
//   or       := and ("or" and)*
//   and      := unary ("and" unary)*
//   unary    := "not" unary | "(" expr ")" | match
//   match    := selector ("==" | "!=") value
//             | selector "is" ["not"] "empty"
//             | selector ["not"] ("contains" | "matches") value
//             | value ["not"] "in" selector
//   selector := ident ("." ident | "[" string "]")*
//   value    := "double-quoted" | `raw` | bare word or number

export class FilterSyntaxError extends Error {
  constructor(
    readonly offset: number,
    detail: string,
  ) {
    super(`failed to read filter expression: 1:${offset + 1} (${offset}): ${detail}`);
  }
}

type Path = readonly string[];
type Node =
  | { readonly op: 'or' | 'and'; readonly left: Node; readonly right: Node }
  | { readonly op: 'not'; readonly inner: Node }
  | { readonly op: '==' | '!=' | 'contains' | 'matches' | 'in'; readonly path: Path; readonly value: string; readonly negate: boolean; readonly re?: RegExp }
  | { readonly op: 'empty'; readonly path: Path; readonly negate: boolean };

interface Token {
  readonly kind: 'word' | 'string' | 'op' | 'punct';
  readonly text: string;
  readonly at: number;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'empty', 'contains', 'matches']);
const BARE = /[A-Za-z0-9_\-.:/@+]/;

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input.charAt(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === '`') {
      const start = i++;
      let text = '';
      while (i < input.length && input.charAt(i) !== c) {
        if (c === '"' && input.charAt(i) === '\\' && i + 1 < input.length) i++;
        text += input.charAt(i++);
      }
      if (i >= input.length) throw new FilterSyntaxError(start, `unterminated ${c === '"' ? 'double-quoted' : 'backtick'} string`);
      i++;
      tokens.push({ kind: 'string', text, at: start });
    } else if (input.startsWith('==', i) || input.startsWith('!=', i)) {
      tokens.push({ kind: 'op', text: input.slice(i, i + 2), at: i });
      i += 2;
    } else if ('()[]'.includes(c) || (c === '.' && tokens.at(-1)?.text === ']')) {
      // A dot after a word stays in the word (selector parts, 1.5); only one after `["key"]` stands alone.
      tokens.push({ kind: 'punct', text: c, at: i });
      i++;
    } else if (BARE.test(c)) {
      const start = i;
      while (i < input.length && BARE.test(input.charAt(i))) i++;
      tokens.push({ kind: 'word', text: input.slice(start, i), at: start });
    } else {
      throw new FilterSyntaxError(i, `unexpected character ${JSON.stringify(c)}`);
    }
  }
  return tokens;
}

class Parser {
  private pos = 0;
  constructor(
    private readonly tokens: readonly Token[],
    private readonly length: number,
  ) {}

  parse(): Node {
    if (this.tokens.length === 0) throw new FilterSyntaxError(0, 'empty expression');
    const node = this.or();
    const extra = this.peek();
    if (extra) throw new FilterSyntaxError(extra.at, `unexpected ${JSON.stringify(extra.text)}`);
    return node;
  }

  private peek(offset = 0): Token | undefined {
    return this.tokens[this.pos + offset];
  }
  private atEnd(): number {
    return this.peek()?.at ?? this.length;
  }
  private isWord(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t?.kind === 'word' && t.text === text;
  }
  private expectWord(text: string): void {
    if (!this.isWord(text)) throw new FilterSyntaxError(this.atEnd(), `expected "${text}"`);
    this.pos++;
  }

  private or(): Node {
    let left = this.and();
    while (this.isWord('or')) {
      this.pos++;
      left = { op: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): Node {
    let left = this.unary();
    while (this.isWord('and')) {
      this.pos++;
      left = { op: 'and', left, right: this.unary() };
    }
    return left;
  }

  private unary(): Node {
    if (this.isWord('not')) {
      this.pos++;
      return { op: 'not', inner: this.unary() };
    }
    const t = this.peek();
    if (t?.kind === 'punct' && t.text === '(') {
      this.pos++;
      const inner = this.or();
      const close = this.peek();
      if (close?.kind !== 'punct' || close.text !== ')') throw new FilterSyntaxError(this.atEnd(), 'expected ")"');
      this.pos++;
      return inner;
    }
    return this.match();
  }

  private match(): Node {
    const first = this.peek();
    if (!first) throw new FilterSyntaxError(this.length, 'expected a selector or a value');
    // value ["not"] "in" selector
    const inAt = this.isWord('in', 1) ? 1 : this.isWord('not', 1) && this.isWord('in', 2) ? 2 : 0;
    if (inAt && (first.kind === 'string' || (first.kind === 'word' && !KEYWORDS.has(first.text)))) {
      this.pos += inAt + 1;
      return { op: 'in', value: first.text, negate: inAt === 2, path: this.selector() };
    }
    const path = this.selector();
    const t = this.peek();
    if (t?.kind === 'op') {
      this.pos++;
      return { op: t.text === '==' ? '==' : '!=', path, value: this.value(), negate: false };
    }
    if (this.isWord('is')) {
      this.pos++;
      const negate = this.isWord('not');
      if (negate) this.pos++;
      this.expectWord('empty');
      return { op: 'empty', path, negate };
    }
    const negate = this.isWord('not');
    if (negate) this.pos++;
    if (this.isWord('contains')) {
      this.pos++;
      return { op: 'contains', path, value: this.value(), negate };
    }
    if (this.isWord('matches')) {
      const at = this.atEnd();
      this.pos++;
      const value = this.value();
      let re: RegExp;
      try {
        re = new RegExp(value);
      } catch (e) {
        throw new FilterSyntaxError(at, `invalid regular expression: ${(e as Error).message}`);
      }
      return { op: 'matches', path, value, negate, re };
    }
    throw new FilterSyntaxError(this.atEnd(), 'expected "==", "!=", "is", "contains", "matches", "not" or "in"');
  }

  private selector(): Path {
    const t = this.peek();
    if (t?.kind !== 'word' || KEYWORDS.has(t.text) || !/^[A-Za-z_]/.test(t.text)) throw new FilterSyntaxError(t?.at ?? this.length, 'expected a selector');
    this.pos++;
    const parts = t.text.split('.');
    if (parts.some((p) => !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(p))) throw new FilterSyntaxError(t.at, `invalid selector ${JSON.stringify(t.text)}`);
    for (;;) {
      const next = this.peek();
      if (next?.kind === 'punct' && next.text === '[') {
        this.pos++;
        const key = this.peek();
        if (key?.kind !== 'string') throw new FilterSyntaxError(key?.at ?? this.length, 'expected a quoted key');
        this.pos++;
        const close = this.peek();
        if (close?.kind !== 'punct' || close.text !== ']') throw new FilterSyntaxError(close?.at ?? this.length, 'expected "]"');
        this.pos++;
        parts.push(key.text);
      } else if (next?.kind === 'punct' && next.text === '.') {
        this.pos++;
        const word = this.peek();
        if (word?.kind !== 'word' || !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(word.text)) throw new FilterSyntaxError(word?.at ?? this.length, 'expected a field name');
        this.pos++;
        parts.push(word.text);
      } else {
        return parts;
      }
    }
  }

  private value(): string {
    const t = this.peek();
    if (!t || (t.kind !== 'string' && t.kind !== 'word') || (t.kind === 'word' && KEYWORDS.has(t.text))) throw new FilterSyntaxError(t?.at ?? this.length, 'expected a value');
    this.pos++;
    return t.text;
  }
}

/** The values a selector reaches; a list on the way fans out to each element. */
function select(datum: unknown, path: Path): unknown[] {
  let current: unknown[] = [datum];
  for (const part of path) {
    const next: unknown[] = [];
    for (const v of current) {
      const items: readonly unknown[] = Array.isArray(v) ? v : [v];
      for (const item of items) {
        if (item !== null && typeof item === 'object' && Object.hasOwn(item, part)) next.push((item as Record<string, unknown>)[part]);
      }
    }
    current = next;
  }
  return current;
}

function equals(field: unknown, value: string): boolean {
  if (typeof field === 'number') return value.trim() !== '' && Number(value) === field;
  if (typeof field === 'boolean') return value === String(field);
  if (typeof field === 'string') return field === value;
  if (field === null) return value === '';
  return false;
}

function contains(field: unknown, value: string): boolean {
  if (typeof field === 'string') return field.includes(value);
  if (Array.isArray(field)) return field.some((e) => equals(e, value));
  if (field !== null && typeof field === 'object') return Object.hasOwn(field, value);
  return false;
}

function isEmpty(field: unknown): boolean {
  if (field === null || field === undefined || field === '') return true;
  if (Array.isArray(field)) return field.length === 0;
  if (typeof field === 'object') return Object.keys(field).length === 0;
  return false;
}

function evaluate(node: Node, datum: unknown): boolean {
  switch (node.op) {
    case 'or':
      return evaluate(node.left, datum) || evaluate(node.right, datum);
    case 'and':
      return evaluate(node.left, datum) && evaluate(node.right, datum);
    case 'not':
      return !evaluate(node.inner, datum);
    case 'empty': {
      const values = select(datum, node.path);
      const empty = values.length === 0 || values.every(isEmpty);
      return node.negate ? !empty : empty;
    }
    case '==':
      return select(datum, node.path).some((v) => equals(v, node.value));
    case '!=':
      return !select(datum, node.path).some((v) => equals(v, node.value));
    case 'in':
    case 'contains': {
      const hit = select(datum, node.path).some((v) => contains(v, node.value));
      return node.negate ? !hit : hit;
    }
    case 'matches': {
      const re = node.re as RegExp;
      const hit = select(datum, node.path).some((v) => typeof v === 'string' && re.test(v));
      return node.negate ? !hit : hit;
    }
  }
}

/** Parses `expression` (throws FilterSyntaxError) into a predicate over answer objects. */
export function compileFilter(expression: string): (datum: unknown) => boolean {
  const tree = new Parser(tokenize(expression), expression.length).parse();
  return (datum) => evaluate(tree, datum);
}
