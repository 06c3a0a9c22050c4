import { Binary } from "apache-arrow/fb/binary";
import { Bool } from "apache-arrow/fb/bool";
import { DictionaryEncoding } from "apache-arrow/fb/dictionary-encoding";
import { Endianness } from "apache-arrow/fb/endianness";
import { Field } from "apache-arrow/fb/field";
import { Int } from "apache-arrow/fb/int";
import { KeyValue } from "apache-arrow/fb/key-value";
import { List } from "apache-arrow/fb/list";
import { RunEndEncoded } from "apache-arrow/fb/run-end-encoded";
import { Schema } from "apache-arrow/fb/schema";
import { Struct_ } from "apache-arrow/fb/struct-";
import { Type } from "apache-arrow/fb/type";
import { Utf8 } from "apache-arrow/fb/utf8";
import type { Builder } from "flatbuffers";
import type { FieldSpec, TypeSpec } from "./field-spec.js";

/**
 * Adds a flatbuffer `Schema` table (little-endian, with `metadata` as its custom metadata) to
 * `builder` and returns its offset.
 */
export function buildSchema(builder: Builder, fields: FieldSpec[], metadata: Record<string, string>): number {
  const fieldOffsets = fields.map((field) => buildField(builder, field));
  const entries = Object.entries(metadata).map(([key, value]) =>
    KeyValue.createKeyValue(builder, builder.createString(key), builder.createString(value)),
  );
  return Schema.createSchema(
    builder,
    Endianness.Little,
    Schema.createFieldsVector(builder, fieldOffsets),
    Schema.createCustomMetadataVector(builder, entries),
    0,
  );
}

function buildField(builder: Builder, spec: FieldSpec): number {
  // Flatbuffers cannot nest table construction, so every child object is finished first.
  const encoded = spec.type.kind === "dictionary" ? spec.type : undefined;
  const type = encoded?.value ?? spec.type;
  const children = childrenOf(type).map((child) => buildField(builder, child));
  const name = builder.createString(spec.name);
  const [typeType, typeOffset] = buildType(builder, type);
  const childVector = Field.createChildrenVector(builder, children);
  let dictionary = 0;
  if (encoded !== undefined) {
    const index = Int.createInt(builder, encoded.index.bitWidth, encoded.index.signed);
    DictionaryEncoding.startDictionaryEncoding(builder);
    DictionaryEncoding.addId(builder, BigInt(encoded.id));
    DictionaryEncoding.addIndexType(builder, index);
    dictionary = DictionaryEncoding.endDictionaryEncoding(builder);
  }
  Field.startField(builder);
  Field.addName(builder, name);
  Field.addNullable(builder, spec.nullable ?? true);
  Field.addTypeType(builder, typeType);
  Field.addType(builder, typeOffset);
  if (dictionary !== 0) Field.addDictionary(builder, dictionary);
  Field.addChildren(builder, childVector);
  return Field.endField(builder);
}

function childrenOf(type: TypeSpec): FieldSpec[] {
  switch (type.kind) {
    case "run-end-encoded":
      return [
        { name: "run_ends", nullable: false, type: type.runEnds },
        { name: "values", type: type.values },
      ];
    case "list":
      return [type.item];
    case "struct":
      return type.fields;
    default:
      return [];
  }
}

function buildType(builder: Builder, type: TypeSpec): [Type, number] {
  switch (type.kind) {
    case "int":
      return [Type.Int, Int.createInt(builder, type.bitWidth, type.signed)];
    case "bool":
      return [Type.Bool, Bool.createBool(builder)];
    case "binary":
      return [Type.Binary, Binary.createBinary(builder)];
    case "utf8":
      return [Type.Utf8, Utf8.createUtf8(builder)];
    case "run-end-encoded":
      return [Type.RunEndEncoded, RunEndEncoded.createRunEndEncoded(builder)];
    case "list":
      return [Type.List, List.createList(builder)];
    case "struct":
      return [Type.Struct_, Struct_.createStruct_(builder)];
    case "dictionary":
      throw new Error("A dictionary's value type cannot itself be a dictionary.");
  }
}
