import { Endianness } from "apache-arrow/fb/endianness";
import type { Field } from "apache-arrow/fb/field";
import type { Schema } from "apache-arrow/fb/schema";
import { Type } from "apache-arrow/fb/type";
import { invalidArgument } from "../../errors.js";

/** A column (or nested child) of an Arrow schema, as much of it as profgate needs. */
export interface IpcField {
  name: string;
  nullable: boolean;
  /**
   * The flatbuffer `Type` union member name, e.g. `"Int"`, `"Binary"`, `"RunEndEncoded"`, `"Struct_"`.
   * For a dictionary-encoded field this is the type of the dictionary's values.
   */
  type: string;
  /** Present when the field is dictionary-encoded; the indices then live in the record batch. */
  dictionary?: { id: bigint; indexBitWidth: number; indexSigned: boolean };
  children: IpcField[];
}

/** The schema message of an IPC stream: its fields and its custom metadata. */
export interface IpcSchema {
  fields: IpcField[];
  metadata: Map<string, string>;
}

// Real schemas are a few dozen fields, a few levels deep; these only stop hostile ones.
const MAX_DEPTH = 64;
const MAX_FIELDS = 10_000;

const malformed = () => invalidArgument("The Arrow IPC metadata is malformed.", "malformed_arrow");

/**
 * Converts a flatbuffer `Schema` table into plain objects. Rejects big-endian schemas and field
 * trees too deep or too large to be real with `invalidArgument`.
 */
export function readSchema(schema: Schema): IpcSchema {
  if (schema.endianness() !== Endianness.Little) {
    throw invalidArgument("Big-endian Arrow streams are not supported.", "unsupported_arrow");
  }
  const budget = { fields: MAX_FIELDS };
  const fields: IpcField[] = [];
  for (let i = 0; i < schema.fieldsLength(); i++) {
    fields.push(readField(present(schema.fields(i)), 0, budget));
  }
  const metadata = new Map<string, string>();
  for (let i = 0; i < schema.customMetadataLength(); i++) {
    const entry = present(schema.customMetadata(i));
    const key = entry.key();
    if (key !== null) metadata.set(key, entry.value() ?? "");
  }
  return { fields, metadata };
}

function readField(field: Field, depth: number, budget: { fields: number }): IpcField {
  budget.fields -= 1;
  if (depth > MAX_DEPTH || budget.fields < 0) throw malformed();
  const type = Type[field.typeType()];
  if (type === undefined || type === "NONE") throw malformed();
  const children: IpcField[] = [];
  for (let i = 0; i < field.childrenLength(); i++) {
    children.push(readField(present(field.children(i)), depth + 1, budget));
  }
  const result: IpcField = { name: field.name() ?? "", nullable: field.nullable(), type, children };
  const encoding = field.dictionary();
  if (encoding !== null) {
    // The format says an absent index type means signed 32-bit indices.
    const index = encoding.indexType();
    result.dictionary = {
      id: encoding.id(),
      indexBitWidth: index?.bitWidth() ?? 32,
      indexSigned: index?.isSigned() ?? true,
    };
  }
  return result;
}

function present<T>(value: T | null): T {
  if (value === null) throw malformed();
  return value;
}
