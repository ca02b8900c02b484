// Validation errors in words: the field that is wrong and what it takes, from the route's schema, never its internals.
import Type from 'typebox'
import { Value } from 'typebox/value'
import { MD5_BASE64_PATTERN } from './schemas/file-record.js'
import { CONTENT_TYPE_PATTERN } from './uploads/content-types.js'
import { FILE_ID_PATTERN } from './uploads/file-id.js'

/** What a pattern asks for, for the patterns callers meet; a pattern not listed is described by its field's example. */
const PATTERN_WORDS: ReadonlyMap<string, string> = new Map([
  [CONTENT_TYPE_PATTERN, 'a MIME type such as image/png'],
  [MD5_BASE64_PATTERN, 'a base64 MD5 of 24 characters such as XrY7u+Ae7tCTyyK7j1rNww=='],
  [FILE_ID_PATTERN, 'a file id issued by filegate, such as 0193a4b2-7c1d-7e3f-9a2b-3c4d5e6f7a8b'],
  ['^[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]+$', 'text without control characters'],
  ['^[^\\ud800-\\udfff]*$', 'well-formed text'],
  ['^[a-z0-9][a-z0-9-]{0,63}$', 'lowercase letters, digits and hyphens, at most 64, starting with a letter or digit'],
])

/** The parts of an Ajv error this module reads (Ajv runs with `verbose`, so each carries the schema it broke). */
const AjvError = Type.Object({
  keyword: Type.String(),
  instancePath: Type.String(),
  params: Type.Record(Type.String(), Type.Unknown()),
  parentSchema: Type.Optional(Type.Unknown()),
  data: Type.Optional(Type.Unknown()),
})
const FieldSchema = Type.Object({
  description: Type.Optional(Type.String()),
  examples: Type.Optional(Type.Array(Type.Unknown())),
  properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  patternProperties: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  anyOf: Type.Optional(Type.Array(Type.Unknown())),
  enum: Type.Optional(Type.Array(Type.Unknown())),
})
const Constant = Type.Object({ const: Type.Union([Type.String(), Type.Number(), Type.Boolean()]) })

/** Where the value was, for a person: `content_type`, `parts[0].number`, or the part of the request itself. */
function fieldName (instancePath: string, context: string): string {
  if (instancePath === '') return context === 'querystring' ? 'the query' : context === 'params' ? 'the path' : `the ${context}`
  return instancePath.slice(1).split('/').map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((name, segment) => /^[0-9]+$/.test(segment) ? `${name}[${segment}]` : name === '' ? segment : `${name}.${segment}`, '')
}

const schemaOf = (error: { parentSchema?: unknown }) => Value.Check(FieldSchema, error.parentSchema) ? error.parentSchema : {}
const numberParam = (params: Record<string, unknown>, name: string) => typeof params[name] === 'number' ? params[name] : undefined
const stringParam = (params: Record<string, unknown>, name: string) => typeof params[name] === 'string' ? params[name] : ''
const plural = (count: number | undefined, word: string) => `${count ?? '?'} ${word}${count === 1 ? '' : 's'}`

/** The constants a union of literals allows (`attachment`, `inline`), or none. */
function allowedValues (schema: { anyOf?: unknown[] | undefined, enum?: unknown[] | undefined }): string[] {
  if (schema.enum !== undefined) return schema.enum.map(String)
  const constants = (schema.anyOf ?? []).map((branch) => Value.Check(Constant, branch) ? String(branch.const) : undefined)
  return constants.every((c) => c !== undefined) ? constants : []
}

/** The field a caller probably meant: the same name but for case, hyphens and underscores (contentType → content_type). */
function likelyField (unknown: string, known: readonly string[]): string | undefined {
  const squash = (name: string) => name.toLowerCase().replace(/[-_]/g, '')
  return known.find((name) => squash(name) === squash(unknown))
}

/** What one broken rule says about its field. */
function describe (error: { keyword: string, instancePath: string, params: Record<string, unknown>, parentSchema?: unknown, data?: unknown }, context: string): string {
  const field = fieldName(error.instancePath, context)
  const schema = schemaOf(error)
  const example = schema.examples?.[0]
  const suchAs = typeof example === 'string' || typeof example === 'number' ? ` such as ${String(example)}` : ''
  const { params } = error
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = stringParam(params, 'additionalProperty')
      // A map (metadata): its keys follow a pattern rather than a list.
      const keyPattern = Object.keys(schema.patternProperties ?? {})[0]
      if (schema.properties === undefined && keyPattern !== undefined) {
        return `${field} key ${name} must be ${PATTERN_WORDS.get(keyPattern) ?? 'in the documented form'}`
      }
      const known = Object.keys(schema.properties ?? {})
      const meant = likelyField(name, known)
      if (meant !== undefined) return `${name} is not a field of ${field}; did you mean ${meant}?`
      return `${name} is not a field of ${field}${known.length > 0 ? `; the fields are ${known.join(', ')}` : ''}`
    }
    case 'required': {
      const name = stringParam(params, 'missingProperty')
      // Ajv reports the missing field first; a field sent under another case (FileName) is the likelier mistake.
      const sent = typeof error.data === 'object' && error.data !== null ? Object.keys(error.data) : []
      const variant = sent.find((key) => likelyField(key, [name]) !== undefined)
      if (variant !== undefined) return `${variant} is not a field of ${field}; did you mean ${name}?`
      const inner = schema.properties?.[name]
      const description = Value.Check(FieldSchema, inner) ? inner.description : undefined
      const prefix = error.instancePath === '' ? name : `${field}.${name}`
      return `${prefix} is required${description === undefined ? '' : ` (${description.charAt(0).toLowerCase()}${description.slice(1)})`}`
    }
    case 'pattern': return `${field} must be ${PATTERN_WORDS.get(stringParam(params, 'pattern')) ?? `in the documented form${suchAs}`}`
    case 'type': return `${field} must be ${stringParam(params, 'type') === 'integer' ? 'a whole number' : `a ${stringParam(params, 'type')}`}${suchAs}`
    case 'minLength': return numberParam(params, 'limit') === 1 ? `${field} must not be empty` : `${field} must be at least ${plural(numberParam(params, 'limit'), 'character')}`
    case 'maxLength': return `${field} must be at most ${plural(numberParam(params, 'limit'), 'character')}`
    case 'minimum': return `${field} must be ${String(numberParam(params, 'limit'))} or more`
    case 'maximum': return `${field} must be ${String(numberParam(params, 'limit'))} or less`
    case 'minItems': return `${field} must have at least ${plural(numberParam(params, 'limit'), 'entry')}`.replace('entrys', 'entries')
    case 'maxItems': return `${field} must have at most ${plural(numberParam(params, 'limit'), 'entry')}`.replace('entrys', 'entries')
    case 'maxProperties': return `${field} must have at most ${plural(numberParam(params, 'limit'), 'entry')}`.replace('entrys', 'entries')
    case 'format': return `${field} must be ${stringParam(params, 'format') === 'date-time' ? 'a date and time such as 2026-01-31T12:00:00Z' : `a ${stringParam(params, 'format')}`}`
    case 'const':
    case 'enum':
    case 'anyOf': {
      const values = allowedValues(schema)
      return values.length > 0 ? `${field} must be one of ${values.join(', ')}` : `${field} is not one of the accepted forms${suchAs}`
    }
    default: return `${field} is not valid${schema.description === undefined ? '' : `: ${schema.description}`}`
  }
}

/**
 * One sentence for a request that broke its route's schema, from Fastify's validation errors (Ajv's, with `verbose`).
 * A union's branches each report their own failure; the union's own error, which names every accepted value, wins.
 */
export function validationMessage (errors: readonly unknown[], context: string): string {
  const checked = errors.filter((error) => Value.Check(AjvError, error))
  const union = checked.find((error) => error.keyword === 'anyOf')
  const first = union ?? checked[0]
  return first === undefined ? `The ${context} is not valid` : describe(first, context)
}
