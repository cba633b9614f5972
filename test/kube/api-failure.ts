// What a client-node call that the stand-in refused rejected with: the tests of the stand-in check
// the code and the Status body the API server would send.
import { ApiException, type V1Status } from '@kubernetes/client-node';
import { expect } from 'vitest';

/** The ApiException a client-node call rejected with, its code and the parsed Status body. */
export async function failure(call: Promise<unknown>): Promise<{ code: number; status: V1Status | undefined }> {
  const error = await call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiException);
  const api = error as ApiException<unknown>;
  // client-node 1.x hands non-2xx bodies over as the raw text (undefined for 401).
  const status = typeof api.body === 'string' && api.body ? (JSON.parse(api.body) as V1Status) : undefined;
  return { code: api.code, status };
}
