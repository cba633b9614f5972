// Which bodies the gate buffers for analysis, by their Content-Type.
// A service answers with a handful of distinct Content-Type values: remember the verdicts (bounded).
const analysableCache = new Map<string, boolean>();
const ANALYSABLE_CACHE_MAX = 256;

/** JSON, form and text media types are buffered for analysis; everything else streams. */
export function isAnalysable(contentType: string | undefined): boolean {
  if (!contentType) return false;
  let verdict = analysableCache.get(contentType);
  if (verdict === undefined) {
    verdict = analysableMediaType(contentType);
    if (analysableCache.size >= ANALYSABLE_CACHE_MAX) analysableCache.clear();
    analysableCache.set(contentType, verdict);
  }
  return verdict;
}

function analysableMediaType(contentType: string): boolean {
  const t = contentType.split(';', 1)[0]!.trim().toLowerCase();
  // Server-sent events are a stream by definition: never held, decided on the head.
  if (t === 'text/event-stream') return false;
  return (
    t.startsWith('text/') ||
    t === 'application/json' ||
    t.endsWith('+json') ||
    t === 'application/x-www-form-urlencoded' ||
    t === 'application/xml' ||
    t.endsWith('+xml') ||
    t === 'multipart/form-data'
  );
}
