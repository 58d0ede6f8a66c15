/** Reading a streamed answer the way a client sees it arrive. */

export interface Arrivals {
  /** The whole body as text. */
  text: string;
  /** When each chunk arrived, in ms since reading began. */
  arrivals: number[];
}

/** Reads a fetch() body to the end, noting when each chunk arrived (to tell a stream from a buffered answer). */
export async function readArrivals(res: Response): Promise<Arrivals> {
  const reader = res.body!.getReader();
  const arrivals: number[] = [];
  const started = Date.now();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { text, arrivals };
    text += Buffer.from(value).toString();
    arrivals.push(Date.now() - started);
  }
}
