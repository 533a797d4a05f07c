/**
 * Named fields of one frame. Values stay as the instrument wrote them (text, or a JSON number or
 * boolean); turning them into engineering values is the point's job (frame-decoder.ts).
 * CSV columns are also keyed "#<index>" so points can name a column by position.
 */
export type Fields = Map<string, string | number | boolean>;

/** Frame text → fields, or null when the frame is not in the parser's format. Pure; never throws. */
export type FieldParser = (text: string) => Fields | null;
