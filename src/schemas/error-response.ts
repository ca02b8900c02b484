// The one error shape every route answers with, shared by $ref.
import Type, { type Static } from 'typebox'

export const ErrorResponseSchema = Type.Object({
  statusCode: Type.Integer({ description: 'The HTTP status, repeated' }),
  code: Type.String({ description: 'A stable machine-readable code, e.g. FILE_NOT_FOUND', examples: ['FILE_NOT_FOUND'] }),
  error: Type.String({ description: 'The HTTP status text' }),
  message: Type.String({ description: 'What went wrong, for a person' }),
}, { $id: 'ErrorResponse', description: 'An error' })

export type ErrorResponse = Static<typeof ErrorResponseSchema>

export const ErrorRef = Type.Ref('ErrorResponse')
