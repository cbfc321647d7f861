import { fromBinary } from "@bufbuild/protobuf";
import {
  type DescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";

/**
 * Serialized FileDescriptorProtos as @bufbuild/protobuf's registry takes them: type names fully
 * qualified, every file's imports listed, and each file after the files it imports.
 *
 * protoc writes descriptors that way; protobufjs does not. Servers whose reflection is built on
 * @grpc/reflection (rpcpool's own, and any grpc-js server using it) send protobufjs's: one
 * synthesized file per package, type names relative to their scope ("ServedBy", not
 * ".rpcpool.compute.v1.ServedBy"), empty JSON names, and no imports even where a type of another package is used.
 * The names are resolved here as protoc resolves them: from the innermost scope outwards.
 */
export function normalizedFiles(files: Iterable<Uint8Array>): FileDescriptorProto[] {
  const decoded: FileDescriptorProto[] = [];
  for (const bytes of files) decoded.push(fromBinary(FileDescriptorProtoSchema, bytes));
  // Every type's full name, and the file that defines it.
  const fileOf = new Map<string, string>();
  const addTypes = (scope: string, file: string, messages: DescriptorProto[], enums: { name: string }[]) => {
    for (const e of enums) fileOf.set(join(scope, e.name), file);
    for (const m of messages) {
      const name = join(scope, m.name);
      fileOf.set(name, file);
      addTypes(name, file, m.nestedType, m.enumType);
    }
  };
  for (const file of decoded) addTypes(file.package, file.name, file.messageType, file.enumType);

  for (const file of decoded) {
    const uses = new Set<string>();
    const qualify = (scope: string, name: string): string => {
      if (name === "" || name.startsWith(".")) {
        if (name !== "") uses.add(fileOf.get(name.slice(1)) ?? "");
        return name;
      }
      for (let s = scope; ; s = s.slice(0, Math.max(0, s.lastIndexOf(".")))) {
        const candidate = join(s, name);
        const home = fileOf.get(candidate);
        if (home !== undefined) {
          uses.add(home);
          return `.${candidate}`;
        }
        if (s === "") return name;
      }
    };
    const fields = (scope: string, list: FieldDescriptorProto[]) => {
      for (const field of list) {
        // protobufjs writes an empty json_name; protoc writes the lowerCamelCase of the name.
        if (!field.jsonName) field.jsonName = jsonNameOf(field.name);
        field.typeName = qualify(scope, field.typeName);
        field.extendee = qualify(scope, field.extendee);
      }
    };
    const messages = (scope: string, list: DescriptorProto[]) => {
      for (const message of list) {
        const name = join(scope, message.name);
        fields(name, message.field);
        fields(name, message.extension);
        messages(name, message.nestedType);
      }
    };
    messages(file.package, file.messageType);
    fields(file.package, file.extension);
    for (const service of file.service) {
      for (const method of service.method) {
        method.inputType = qualify(file.package, method.inputType);
        method.outputType = qualify(file.package, method.outputType);
      }
    }
    for (const home of uses) {
      if (home !== "" && home !== file.name && !file.dependency.includes(home)) file.dependency.push(home);
    }
  }
  return dependenciesFirst(decoded);
}

/** protoc's default JSON name: underscores dropped, the letter after each upper-cased. */
function jsonNameOf(name: string): string {
  return name.replace(/_+([a-z0-9]?)/g, (_, c: string) => c.toUpperCase());
}

function join(scope: string, name: string): string {
  return scope === "" ? name : `${scope}.${name}`;
}

/** The files in an order where each comes after the files it imports (those given; others are skipped). */
function dependenciesFirst(files: FileDescriptorProto[]): FileDescriptorProto[] {
  const byName = new Map(files.map((file) => [file.name, file]));
  const ordered: FileDescriptorProto[] = [];
  const placed = new Set<string>();
  const place = (file: FileDescriptorProto, path: Set<string>) => {
    if (placed.has(file.name) || path.has(file.name)) return;
    path.add(file.name);
    for (const dependency of file.dependency) {
      const imported = byName.get(dependency);
      if (imported) place(imported, path);
    }
    placed.add(file.name);
    ordered.push(file);
  };
  for (const file of files) place(file, new Set());
  return ordered;
}
