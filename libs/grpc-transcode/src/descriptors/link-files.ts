/**
 * Turns FileDescriptorProtos from any producer into a FileRegistry. protoc and buf emit fully qualified type
 * names and complete import lists; Node's @grpc/reflection serves descriptors rebuilt by protobufjs, which merge
 * each package into one file, name types relative to their scope, list no imports and copy each extension into
 * the extended message as a field named `.<extension full name>`, and set no json_name (which protoc always
 * sets, and @bufbuild/protobuf takes as it is). So: drop those copies (the extension is declared in its own file
 * too), fill json_name by protoc's rule, qualify every type name by protobuf's scoping rules, add the imports the type
 * references need, order the files imports first, then build the registry. Throws LinkError naming the file and
 * the type or import that is missing.
 */
import { create, createFileRegistry, type FileRegistry, isFieldSet } from '@bufbuild/protobuf';
import { protoCamelCase } from '@bufbuild/protobuf/reflect';
import {
  type DescriptorProto,
  type FieldDescriptorProto,
  FieldDescriptorProto_Type,
  FieldDescriptorProtoSchema,
  type FileDescriptorProto,
  FileDescriptorSetSchema,
} from '@bufbuild/protobuf/wkt';

export class LinkError extends Error {}

/** Where a message or enum is defined; keyed by its full name without the leading dot. */
interface Definition {
  file: string;
  kind: 'message' | 'enum';
}

export function registryFromFiles(files: readonly FileDescriptorProto[]): FileRegistry {
  const ordered = importsFirst(linkTypeNames(files));
  try {
    return createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
  } catch (error) {
    throw new LinkError((error as Error).message, { cause: error });
  }
}

/** Qualifies type names in place and completes each file's import list; returns the files by name. */
function linkTypeNames(files: readonly FileDescriptorProto[]): Map<string, FileDescriptorProto> {
  const byName = new Map<string, FileDescriptorProto>();
  for (const file of files) if (!byName.has(file.name)) byName.set(file.name, file);
  for (const file of byName.values()) {
    const missing = file.dependency.find((name) => !byName.has(name));
    if (missing !== undefined) throw new LinkError(`${file.name} imports ${missing}, which is missing`);
  }
  const defined = new Map<string, Definition>();
  for (const file of byName.values()) {
    const pkg = file.package;
    for (const message of file.messageType) defineMessage(defined, file.name, join(pkg, message.name), message);
    for (const en of file.enumType) defined.set(join(pkg, en.name), { file: file.name, kind: 'enum' });
  }

  for (const file of byName.values()) {
    const uses = new Set<string>();
    const resolve = (name: string, scope: string, where: string): Definition & { name: string } => {
      const found = lookUp(defined, name, scope);
      if (found === undefined) throw new LinkError(`${file.name}: type "${name}" used by ${where} is not defined`);
      uses.add(found.file);
      return found;
    };
    const linkField = (field: FieldDescriptorProto, scope: string, owner: string) => {
      const where = `${owner}.${field.name}`;
      if (field.extendee === '' && field.jsonName === '') field.jsonName = protoCamelCase(field.name);
      if (field.typeName !== '') {
        const type = resolve(field.typeName, scope, where);
        field.typeName = type.name;
        if (!isFieldSet(field, FieldDescriptorProtoSchema.field.type)) {
          field.type = type.kind === 'enum' ? FieldDescriptorProto_Type.ENUM : FieldDescriptorProto_Type.MESSAGE;
        }
      }
      if (field.extendee !== '') field.extendee = resolve(field.extendee, scope, where).name;
    };
    const linkMessage = (message: DescriptorProto, scope: string) => {
      const name = join(scope, message.name);
      message.field = message.field.filter((field) => !field.name.startsWith('.'));
      for (const field of message.field) linkField(field, name, name);
      for (const field of message.extension) linkField(field, name, name);
      for (const nested of message.nestedType) linkMessage(nested, name);
    };
    for (const message of file.messageType) linkMessage(message, file.package);
    for (const field of file.extension) linkField(field, file.package, join(file.package, field.name));
    for (const service of file.service) {
      for (const method of service.method) {
        const where = `${join(file.package, service.name)}.${method.name}`;
        method.inputType = resolve(method.inputType, file.package, where).name;
        method.outputType = resolve(method.outputType, file.package, where).name;
      }
    }
    for (const used of uses) {
      if (used !== file.name && !file.dependency.includes(used)) file.dependency.push(used);
    }
  }
  return byName;
}

function defineMessage(defined: Map<string, Definition>, file: string, name: string, message: DescriptorProto): void {
  defined.set(name, { file, kind: 'message' });
  for (const nested of message.nestedType) defineMessage(defined, file, `${name}.${nested.name}`, nested);
  for (const en of message.enumType) defined.set(`${name}.${en.name}`, { file, kind: 'enum' });
}

/**
 * protobuf's scoping: a leading dot is absolute; otherwise the innermost enclosing scope that defines it wins.
 * Returns the definition and the absolute name (with the leading dot).
 */
function lookUp(
  defined: Map<string, Definition>,
  name: string,
  scope: string,
): (Definition & { name: string }) | undefined {
  const at = (full: string) => {
    const definition = defined.get(full);
    return definition && { ...definition, name: `.${full}` };
  };
  if (name.startsWith('.')) return at(name.slice(1));
  for (let s = scope; ; s = s.slice(0, Math.max(0, s.lastIndexOf('.')))) {
    const found = at(join(s, name));
    if (found !== undefined || s === '') return found;
  }
}

function join(scope: string, name: string): string {
  return scope === '' ? name : `${scope}.${name}`;
}

/** Depth-first: every file after the files it imports. */
function importsFirst(byName: Map<string, FileDescriptorProto>): FileDescriptorProto[] {
  const ordered: FileDescriptorProto[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (file: FileDescriptorProto, importer: string | undefined) => {
    const seen = state.get(file.name);
    if (seen === 'done') return;
    if (seen === 'visiting') throw new LinkError(`import cycle through ${file.name} (imported by ${importer})`);
    state.set(file.name, 'visiting');
    for (const dep of file.dependency) {
      const imported = byName.get(dep);
      if (imported === undefined) throw new LinkError(`${file.name} imports ${dep}, which is missing`);
      visit(imported, file.name);
    }
    state.set(file.name, 'done');
    ordered.push(file);
  };
  for (const file of byName.values()) visit(file, undefined);
  return ordered;
}
