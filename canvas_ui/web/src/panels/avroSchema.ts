// Checks that a Schema Text property holds an Avro schema, and says where it does not:
// JSON errors by line and column, schema errors by their path in the schema
// (e.g. `fields[2].type`) and the line the value starts on. Pure (no React).

export type SchemaCheck =
  | { ok: true; summary: string }
  | { ok: false; message: string; line: number; column: number; path: string }
  | { ok: null; summary: string };

const PRIMITIVES = new Set(["null", "boolean", "int", "long", "float", "double", "bytes", "string"]);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FULL_NAME = /^([A-Za-z_][A-Za-z0-9_]*\.)*[A-Za-z_][A-Za-z0-9_]*$/;

/** A parsed JSON value with the offset it starts at (objects and arrays keep their parts'). */
type Node =
  | { kind: "object"; at: number; entries: Map<string, Node> }
  | { kind: "array"; at: number; items: Node[] }
  | { kind: "string"; at: number; value: string }
  | { kind: "number"; at: number; value: number }
  | { kind: "literal"; at: number; value: boolean | null };

class JsonError extends Error {
  constructor(message: string, readonly at: number) { super(message); }
}

/** A small JSON parser that remembers where each value starts. */
function parse(text: string): Node {
  let i = 0;
  const ws = () => { while (i < text.length && " \t\r\n".includes(text[i])) i += 1; };
  const describe = () => (i >= text.length ? "the end of the text" : `'${text[i]}'`);
  const value = (): Node => {
    ws();
    const at = i;
    const ch = text[i];
    if (ch === "{") {
      i += 1;
      const entries = new Map<string, Node>();
      ws();
      if (text[i] === "}") { i += 1; return { kind: "object", at, entries }; }
      for (;;) {
        ws();
        if (text[i] !== "\"") throw new JsonError(`expected a quoted field name, found ${describe()}`, i);
        const key = (value() as { value: string }).value;
        ws();
        if (text[i] !== ":") throw new JsonError(`expected ':' after "${key}", found ${describe()}`, i);
        i += 1;
        if (entries.has(key)) throw new JsonError(`"${key}" appears twice in this object`, at);
        entries.set(key, value());
        ws();
        if (text[i] === ",") { i += 1; continue; }
        if (text[i] === "}") { i += 1; return { kind: "object", at, entries }; }
        throw new JsonError(`expected ',' or '}', found ${describe()}`, i);
      }
    }
    if (ch === "[") {
      i += 1;
      const items: Node[] = [];
      ws();
      if (text[i] === "]") { i += 1; return { kind: "array", at, items }; }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ",") { i += 1; continue; }
        if (text[i] === "]") { i += 1; return { kind: "array", at, items }; }
        throw new JsonError(`expected ',' or ']', found ${describe()}`, i);
      }
    }
    if (ch === "\"") {
      const m = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/.exec(text.slice(i));
      if (!m) throw new JsonError("a string is not closed or holds a bad escape", i);
      i += m[0].length;
      return { kind: "string", at, value: JSON.parse(m[0]) as string };
    }
    const num = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (num && num[0] !== "-") {
      i += num[0].length;
      return { kind: "number", at, value: Number(num[0]) };
    }
    for (const [word, lit] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(word, i)) { i += word.length; return { kind: "literal", at, value: lit }; }
    }
    throw new JsonError(`expected a JSON value, found ${describe()}`, i);
  };
  const root = value();
  ws();
  if (i < text.length) throw new JsonError(`unexpected ${describe()} after the schema`, i);
  return root;
}

function lineColumn(text: string, at: number): { line: number; column: number } {
  const before = text.slice(0, at).split("\n");
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

class SchemaError extends Error {
  constructor(message: string, readonly path: string, readonly at: number) { super(message); }
}

/** Checks one schema; `named` collects the named types defined so far (full and short names). */
function check(node: Node, path: string, named: Set<string>, namespace: string): string {
  const fail = (message: string, where: Node = node, sub = ""): never => { throw new SchemaError(message, path + sub, where.at); };
  if (node.kind === "string") {
    if (PRIMITIVES.has(node.value)) return node.value;
    const full = node.value.includes(".") || !namespace ? node.value : `${namespace}.${node.value}`;
    if (named.has(full) || named.has(node.value)) return node.value;
    return fail(`unknown type "${node.value}": a primitive (${[...PRIMITIVES].join(", ")}) or a named type defined before it`);
  }
  if (node.kind === "array") {
    if (node.items.length === 0) fail("a union needs at least one type");
    const seen = new Set<string>();
    node.items.forEach((item, k) => {
      if (item.kind === "array") throw new SchemaError("a union may not hold a union directly", `${path}[${k}]`, item.at);
      const t = check(item, `${path}[${k}]`, named, namespace);
      const key = ["record", "enum", "fixed"].includes(t) ? `${t}:${k}` : t;
      if (seen.has(key)) throw new SchemaError(`the union holds "${t}" twice`, `${path}[${k}]`, item.at);
      seen.add(key);
    });
    return "union";
  }
  if (node.kind !== "object") return fail("a schema is a type name, an object with \"type\", or a union (an array)");
  const field = (name: string) => node.entries.get(name);
  const type = field("type");
  if (!type) return fail("the object has no \"type\"");
  if (type.kind !== "string") {
    return check(type, `${path}.type`, named, namespace);  // {"type": {...}} or {"type": [...]}: a nested schema
  }
  const t = type.value;
  const nameOf = (): string => {
    const name = field("name");
    if (!name || name.kind !== "string") return fail(`a ${t} needs a "name"`);
    if (!FULL_NAME.test(name.value)) return fail(`"${name.value}" is not a valid Avro name (letters, digits and _, not starting with a digit)`, name, ".name");
    const ns = field("namespace");
    const space = name.value.includes(".") ? name.value.slice(0, name.value.lastIndexOf("."))
      : ns && ns.kind === "string" ? ns.value : namespace;
    const full = name.value.includes(".") || !space ? name.value : `${space}.${name.value}`;
    if (named.has(full)) fail(`the name "${full}" is defined twice`, name, ".name");
    named.add(full);
    named.add(full.split(".").pop() as string);
    return space;
  };
  if (PRIMITIVES.has(t)) {
    const logical = field("logicalType");
    if (logical && logical.kind === "string" && logical.value === "decimal") {
      const precision = field("precision");
      const scale = field("scale");
      if (!precision || precision.kind !== "number" || !Number.isInteger(precision.value) || precision.value < 1) {
        fail("a decimal needs a whole \"precision\" of at least 1", precision ?? node, ".precision");
      }
      if (scale && (scale.kind !== "number" || !Number.isInteger(scale.value) || scale.value < 0
        || scale.value > (precision as { value: number }).value)) {
        fail("a decimal's \"scale\" is a whole number from 0 to its precision", scale, ".scale");
      }
    }
    return t;
  }
  if (t === "record" || t === "error") {
    const space = nameOf();
    const fields = field("fields");
    if (!fields || fields.kind !== "array") return fail(`a record needs "fields" (an array)`, fields ?? node, fields ? ".fields" : "");
    const names = new Set<string>();
    fields.items.forEach((f, k) => {
      const where = `${path}.fields[${k}]`;
      if (f.kind !== "object") throw new SchemaError("a field is an object with \"name\" and \"type\"", where, f.at);
      const fname = f.entries.get("name");
      if (!fname || fname.kind !== "string") throw new SchemaError("the field has no \"name\"", where, f.at);
      if (!NAME.test(fname.value)) throw new SchemaError(`"${fname.value}" is not a valid field name`, `${where}.name`, fname.at);
      if (names.has(fname.value)) throw new SchemaError(`the field "${fname.value}" is defined twice`, `${where}.name`, fname.at);
      names.add(fname.value);
      const ftype = f.entries.get("type");
      if (!ftype) throw new SchemaError(`the field "${fname.value}" has no "type"`, where, f.at);
      check(ftype, `${where}.type`, named, space);
    });
    return "record";
  }
  if (t === "enum") {
    nameOf();
    const symbols = field("symbols");
    if (!symbols || symbols.kind !== "array") return fail("an enum needs \"symbols\" (an array of names)", symbols ?? node, symbols ? ".symbols" : "");
    const seen = new Set<string>();
    symbols.items.forEach((s, k) => {
      if (s.kind !== "string" || !NAME.test(s.value)) throw new SchemaError("a symbol is a name (letters, digits and _)", `${path}.symbols[${k}]`, s.at);
      if (seen.has(s.value)) throw new SchemaError(`the symbol "${s.value}" appears twice`, `${path}.symbols[${k}]`, s.at);
      seen.add(s.value);
    });
    return "enum";
  }
  if (t === "array") {
    const items = field("items");
    if (!items) return fail("an array needs \"items\"");
    check(items, `${path}.items`, named, namespace);
    return "array";
  }
  if (t === "map") {
    const values = field("values");
    if (!values) return fail("a map needs \"values\"");
    check(values, `${path}.values`, named, namespace);
    return "map";
  }
  if (t === "fixed") {
    nameOf();
    const size = field("size");
    if (!size || size.kind !== "number" || !Number.isInteger(size.value) || size.value < 0) {
      return fail("a fixed needs a whole \"size\"", size ?? node, size ? ".size" : "");
    }
    return "fixed";
  }
  return check(type, `${path}.type`, named, namespace);  // a named type used as {"type": "Name"}
}

/** Whether `text` is an Avro schema for a record reader or writer, and where it is not. */
export function checkAvroSchema(text: string): SchemaCheck {
  if (/[$#]\{/.test(text)) return { ok: null, summary: "Holds an expression or a parameter: the schema is checked when it is used." };
  let root: Node;
  try {
    root = parse(text);
  } catch (exc) {
    const e = exc as JsonError;
    const { line, column } = lineColumn(text, e.at ?? 0);
    return { ok: false, message: `Not valid JSON: ${e.message}`, line, column, path: "" };
  }
  try {
    const named = new Set<string>();
    const t = check(root, "schema", named, "");
    if (t !== "record") {
      const { line, column } = lineColumn(text, root.at);
      return { ok: false, message: `The schema is ${/^[aeiou]/.test(t) ? "an" : "a"} ${t}: record readers and writers need a record schema`, line, column, path: "schema" };
    }
    const fields = root.kind === "object" ? root.entries.get("fields") : undefined;
    const count = fields && fields.kind === "array" ? fields.items.length : 0;
    const name = root.kind === "object" ? (root.entries.get("name") as { value?: string } | undefined)?.value : undefined;
    return { ok: true, summary: `An Avro record schema: ${name ?? "record"} with ${count} ${count === 1 ? "field" : "fields"}.` };
  } catch (exc) {
    if (!(exc instanceof SchemaError)) throw exc;
    const { line, column } = lineColumn(text, exc.at);
    return { ok: false, message: exc.message, line, column, path: exc.path };
  }
}

/** Whether a property holds an Avro schema's text (NiFi's "Schema Text"). */
export function isSchemaText(p: { key: string; display_name: string }): boolean {
  return p.key === "schema-text" || p.display_name === "Schema Text";
}
