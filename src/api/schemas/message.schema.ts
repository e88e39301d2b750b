import { Type, type Static } from '@sinclair/typebox';

/** No NUL or other C0 controls but tab/newline/CR (PostgreSQL text cannot hold NUL). */
const CLEAN = '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F]*$';

export const AttachmentSchema = Type.Object(
  {
    type: Type.Union(['photo', 'location', 'document', 'link', 'video', 'other'].map((t) => Type.Literal(t))),
    url: Type.Optional(Type.String({ maxLength: 2000, format: 'uri' })),
    fileId: Type.Optional(Type.String({ maxLength: 500, pattern: CLEAN })),
    latitude: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
    longitude: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
    caption: Type.Optional(Type.String({ maxLength: 4000, pattern: CLEAN })),
  },
  { additionalProperties: false },
);

export const IngestBodySchema = Type.Object(
  {
    source: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.:@-]+$' }),
    externalId: Type.String({ minLength: 1, maxLength: 200, pattern: CLEAN }),
    text: Type.String({ minLength: 1, maxLength: 20_000, pattern: CLEAN }),
    author: Type.Object(
      {
        id: Type.String({ minLength: 1, maxLength: 200, pattern: CLEAN }),
        name: Type.Optional(Type.String({ maxLength: 300, pattern: CLEAN })),
      },
      { additionalProperties: false },
    ),
    postedAt: Type.String({ format: 'date-time' }),
    url: Type.Optional(Type.String({ maxLength: 2000, format: 'uri' })),
    parentExternalId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: CLEAN })),
    attachments: Type.Optional(Type.Array(AttachmentSchema, { maxItems: 20 })),
  },
  { additionalProperties: false },
);
export type IngestBody = Static<typeof IngestBodySchema>;

export const IdParamsSchema = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
});

export const ErrorSchema = Type.Object(
  {
    error: Type.String(),
    message: Type.String(),
    field: Type.Optional(Type.String()),
    reason: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

/**
 * A staff correction of a message's analysis. Presence and values of task and label are checked in the
 * handler, so a 400 names the field together with the values it allows.
 */
export const LabelBodySchema = Type.Object(
  {
    task: Type.Optional(Type.String()),
    label: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type LabelBody = Static<typeof LabelBodySchema>;

export const LabelCreatedSchema = Type.Object({
  id: Type.Integer(),
  messageId: Type.Integer(),
  task: Type.String(),
  label: Type.String(),
  previous: Type.Union([Type.String(), Type.Null()]),
});
