/** An Arrow integer type. */
export interface IntSpec {
  kind: "int";
  bitWidth: 8 | 16 | 32 | 64;
  signed: boolean;
}

/**
 * The Arrow types the agent simulator writes. A `dictionary` type names the dictionary id its values
 * are sent under; `run-end-encoded` gets the `run_ends` and `values` children the format requires.
 */
export type TypeSpec =
  | IntSpec
  | { kind: "bool" }
  | { kind: "binary" }
  | { kind: "utf8" }
  | { kind: "dictionary"; id: number; index: IntSpec; value: TypeSpec }
  | { kind: "run-end-encoded"; runEnds: IntSpec; values: TypeSpec }
  | { kind: "list"; item: FieldSpec }
  | { kind: "struct"; fields: FieldSpec[] };

/** A schema field; `nullable` defaults to true. */
export interface FieldSpec {
  name: string;
  nullable?: boolean;
  type: TypeSpec;
}

export const INT32: IntSpec = { kind: "int", bitWidth: 32, signed: true };
export const INT64: IntSpec = { kind: "int", bitWidth: 64, signed: true };
export const UINT32: IntSpec = { kind: "int", bitWidth: 32, signed: false };
export const UINT64: IntSpec = { kind: "int", bitWidth: 64, signed: false };
