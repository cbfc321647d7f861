import { create, createFileRegistry, toBinary } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { normalizedFiles } from "./descriptor-files.js";

const { MESSAGE: TYPE_MESSAGE, ENUM: TYPE_ENUM, DOUBLE: TYPE_DOUBLE } = FieldDescriptorProto_Type;
const { OPTIONAL, REPEATED } = FieldDescriptorProto_Label;

// Descriptors as protobufjs writes them (what @grpc/reflection serves): one file per package, type
// names relative to their scope, empty JSON names, no imports; the using file comes first.
const app = create(FileDescriptorProtoSchema, {
  name: "acme_v1.proto",
  package: "acme.v1",
  syntax: "proto3",
  messageType: [
    {
      name: "Outer",
      field: [
        {
          name: "inner_value",
          number: 1,
          type: TYPE_MESSAGE,
          label: OPTIONAL,
          typeName: "Inner",
          jsonName: "",
        },
        { name: "kind", number: 2, type: TYPE_ENUM, label: OPTIONAL, typeName: "Inner.Kind", jsonName: "" },
        {
          name: "common",
          number: 3,
          type: TYPE_MESSAGE,
          label: REPEATED,
          typeName: "shared.Common",
          jsonName: "",
        },
      ],
      nestedType: [
        {
          name: "Inner",
          field: [{ name: "x", number: 1, type: TYPE_DOUBLE, label: OPTIONAL, jsonName: "" }],
          enumType: [{ name: "Kind", value: [{ name: "KIND_A", number: 0 }] }],
        },
      ],
    },
  ],
  service: [{ name: "S", method: [{ name: "M", inputType: "Outer", outputType: "shared.Common" }] }],
});
const shared = create(FileDescriptorProtoSchema, {
  name: "shared.proto",
  package: "shared",
  syntax: "proto3",
  messageType: [{ name: "Common", field: [] }],
});

describe("normalizedFiles", () => {
  it("qualifies relative names from the innermost scope out, adds imports, and orders imports first", () => {
    const files = normalizedFiles([
      toBinary(FileDescriptorProtoSchema, app),
      toBinary(FileDescriptorProtoSchema, shared),
    ]);
    expect(files.map((f) => f.name)).toEqual(["shared.proto", "acme_v1.proto"]);
    const outer = files[1]!.messageType[0]!;
    expect(outer.field.map((f) => f.typeName)).toEqual([
      ".acme.v1.Outer.Inner",
      ".acme.v1.Outer.Inner.Kind",
      ".shared.Common",
    ]);
    expect(outer.field[0]!.jsonName).toBe("innerValue");
    expect(files[1]!.dependency).toEqual(["shared.proto"]);
    expect(files[1]!.service[0]!.method[0]).toMatchObject({
      inputType: ".acme.v1.Outer",
      outputType: ".shared.Common",
    });
    // What @bufbuild/protobuf refuses as they were, it takes now.
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: files }));
    expect(registry.getMessage("acme.v1.Outer")?.fields.map((f) => f.jsonName)).toEqual([
      "innerValue",
      "kind",
      "common",
    ]);
    expect(() => createFileRegistry(create(FileDescriptorSetSchema, { file: [app, shared] }))).toThrow();
  });
});
