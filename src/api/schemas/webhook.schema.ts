/**
 * The shape of what the platforms post to the webhooks — only the fields the connectors read, each with
 * the type they read it as; everything else passes through untouched (the platforms add fields all the
 * time). Checked after the secret, before the connector sees the body: a signed but malformed update is a
 * 400 naming the field, not a TypeError deep in a handler answered 500 (which the platform would deliver
 * again, forever). Issue 9, «Hostile input».
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

const Opt = <T extends TSchema>(t: T) => Type.Optional(t);
/** Platform ids: integers JavaScript holds exactly. */
const Id = Type.Integer({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER });
/** Unix time in seconds that `new Date(s * 1000)` can hold. */
const UnixTime = Type.Integer({ minimum: 0, maximum: 8_640_000_000_000 });
const Num = Type.Number();

// ---- Telegram ----------------------------------------------------------------------------------------

const TgUser = Type.Object({
  id: Id,
  is_bot: Opt(Type.Boolean()),
  first_name: Opt(Type.String()),
  last_name: Opt(Type.String()),
  username: Opt(Type.String()),
});
const TgChat = Type.Object({
  id: Id,
  type: Type.String(),
  title: Opt(Type.String()),
  username: Opt(Type.String()),
});
const TgFile = Type.Object({ file_id: Type.String() });
const messageFields = {
  message_id: Id,
  date: UnixTime,
  chat: TgChat,
  from: Opt(TgUser),
  sender_chat: Opt(TgChat),
  text: Opt(Type.String()),
  caption: Opt(Type.String()),
  entities: Opt(Type.Array(Type.Object({ type: Type.String(), offset: Id, length: Id }))),
  photo: Opt(Type.Array(TgFile)),
  document: Opt(TgFile),
  video: Opt(TgFile),
  location: Opt(Type.Object({ latitude: Num, longitude: Num })),
  is_automatic_forward: Opt(Type.Boolean()),
  forward_origin: Opt(
    Type.Object({ type: Type.String(), chat: Opt(Type.Object({ id: Id })), message_id: Opt(Id) }),
  ),
  forward_from_chat: Opt(Type.Object({ id: Id })),
  forward_from_message_id: Opt(Id),
};
const TgMessage = Type.Object({
  ...messageFields,
  reply_to_message: Opt(Type.Object(messageFields)),
});

export const TelegramUpdate = TypeCompiler.Compile(
  Type.Object({
    update_id: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    message: Opt(TgMessage),
    edited_message: Opt(TgMessage),
    channel_post: Opt(TgMessage),
    edited_channel_post: Opt(TgMessage),
    callback_query: Opt(
      Type.Object({
        id: Type.String(),
        from: TgUser,
        message: Opt(TgMessage),
        data: Opt(Type.String()),
      }),
    ),
    poll_answer: Opt(
      Type.Object({
        poll_id: Type.String(),
        option_ids: Type.Array(Id),
        user: Opt(TgUser),
        voter_chat: Opt(TgChat),
      }),
    ),
  }),
);

// ---- VK Callback API ---------------------------------------------------------------------------------

const VkAttachments = Opt(
  Type.Array(
    Type.Object({
      type: Type.String(),
      photo: Opt(Type.Object({ sizes: Opt(Type.Array(Type.Object({ url: Type.String(), width: Num }))) })),
      doc: Opt(Type.Object({ url: Opt(Type.String()) })),
    }),
  ),
);
const VkMessage = Type.Object({
  id: Id,
  date: UnixTime,
  from_id: Id,
  peer_id: Id,
  text: Opt(Type.String()),
  conversation_message_id: Opt(Id),
  payload: Opt(Type.String()),
  attachments: VkAttachments,
  geo: Opt(Type.Object({ coordinates: Opt(Type.Object({ latitude: Num, longitude: Num })) })),
  reply_message: Opt(Type.Object({ id: Opt(Id), conversation_message_id: Opt(Id) })),
});
const VkWallPost = Type.Object({
  id: Id,
  owner_id: Id,
  from_id: Id,
  date: UnixTime,
  text: Opt(Type.String()),
  attachments: VkAttachments,
});
const VkWallReply = Type.Object({
  id: Id,
  from_id: Id,
  date: UnixTime,
  post_id: Id,
  post_owner_id: Opt(Id),
  owner_id: Opt(Id),
  reply_to_comment: Opt(Id),
  text: Opt(Type.String()),
  attachments: VkAttachments,
});
type Compiled = ReturnType<typeof TypeCompiler.Compile>;

/**
 * The events the connector reads, with the part of each it reads (`message_new` carries the message in
 * `object.message`, or as `object` itself in old API versions); any other type is acknowledged and ignored.
 */
export const VK_EVENTS: Record<string, { check: Compiled; part: (object: unknown) => unknown; at: string }> =
  {
    message_new: {
      check: TypeCompiler.Compile(VkMessage),
      part: (o) => (o as { message?: unknown } | null)?.message ?? o,
      at: 'object.message',
    },
    wall_post_new: { check: TypeCompiler.Compile(VkWallPost), part: (o) => o, at: 'object' },
    wall_reply_new: { check: TypeCompiler.Compile(VkWallReply), part: (o) => o, at: 'object' },
  };

/** The first problem of a value against a compiled schema: `[field, reason]`, or undefined when it fits. */
export function firstProblem(check: Compiled, value: unknown, at = ''): [string, string] | undefined {
  if (check.Check(value)) return undefined;
  const e = check.Errors(value).First();
  const path = (e?.path ?? '').replace(/^\//, '').replace(/\//g, '.');
  return [[at, path].filter(Boolean).join('.') || 'body', e?.message ?? 'has the wrong shape'];
}
