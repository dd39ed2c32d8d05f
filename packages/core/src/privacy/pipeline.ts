// The privacy pipeline: redact → pseudonymize → generalize → scrub → noise,
// compiled once at startup. The record is first normalised to the plain data
// the encoder writes (plain.ts); each step then walks only its configured
// paths with the one walker (rewrite.ts), which copies a container of the
// caller's the first time any step changes it and writes the containers this
// call made in place, so `apply` never mutates the caller's record.

import { toPlain } from '../plain.js';
import type { RecordTransform } from '../stages.js';
import type { PrivacyConfig } from './config.js';
import { generalizeBuckets, generalizeIp, generalizePrefix, generalizeTime } from './generalize.js';
import { type KeyLoadContext, loadKeyring, type PseudonymKeyring } from './keys.js';
import { createNoise } from './noise-link.js';
import { parsePath } from './path.js';
import { pseudonymizeValue } from './pseudonymize.js';
import { DEFAULT_CACHE_BYTES, DEFAULT_CACHE_ENTRIES, PseudonymCache } from './psn-cache.js';
import { Cow, compileTrie, type LeafAction, type PathTrie, REMOVE, rewrite } from './rewrite.js';
import { scrubValue } from './scrub.js';

/** What the pipeline needs from its host: where keys come from, plus anything the noise step needs. */
export interface PrivacyContext extends KeyLoadContext {
  /** Passed through to the dp noise step (e.g. the ledger for budgets). */
  [extra: string]: unknown;
}

/** A compiled privacy pipeline; `keyring` is present when pseudonymization is configured. */
export interface PrivacyPipeline extends RecordTransform {
  readonly keyring: PseudonymKeyring | undefined;
}

function trie(paths: readonly string[], field: string, action: (i: number) => LeafAction): PathTrie {
  return compileTrie(paths.map((p, i) => ({ segments: parsePath(p, `${field}[${i}]`), action: action(i) })));
}

/**
 * Compiles a validated config (see validatePrivacyConfig) and loads its keys.
 * @throws SealogError E_KEY if a key cannot be loaded, E_CONFIG from the noise step.
 */
export function createPrivacyPipeline(config: PrivacyConfig, ctx: PrivacyContext = {}): PrivacyPipeline {
  const steps: PathTrie[] = [];
  const { redact, pseudonymize, generalize, scrub } = config;
  if (redact && redact.paths.length > 0) {
    const value = redact.remove ? REMOVE : redact.censor;
    steps.push(trie(redact.paths, 'privacy.redact.paths', () => () => value));
  }
  const keyring = pseudonymize ? loadKeyring(pseudonymize.keys, pseudonymize.current, ctx) : undefined;
  // One cache for the pseudonymize step and scrub's pseudonyms: both MAC under the current key.
  const cacheSize = pseudonymize?.cache ?? {
    maxEntries: DEFAULT_CACHE_ENTRIES,
    maxBytes: DEFAULT_CACHE_BYTES,
  };
  const cache =
    keyring && cacheSize.maxEntries > 0 && cacheSize.maxBytes > 0 ? new PseudonymCache(cacheSize) : undefined;
  if (pseudonymize && keyring && pseudonymize.paths.length > 0) {
    const psn = pseudonymizeValue(keyring.current, pseudonymize.digestBytes, cache);
    steps.push(trie(pseudonymize.paths, 'privacy.pseudonymize.paths', () => psn));
  }
  if (generalize && generalize.length > 0) {
    steps.push(
      compileTrie(
        generalize.map((r, i) => ({
          segments: parsePath(r.path, `privacy.generalize[${i}].path`),
          action:
            'ip' in r
              ? generalizeIp(r.ip)
              : 'time' in r
                ? generalizeTime(r.time)
                : 'buckets' in r
                  ? generalizeBuckets(r.buckets)
                  : generalizePrefix(r.prefix),
        })),
      ),
    );
  }
  if (scrub && scrub.paths.length > 0) {
    const action = scrubValue({
      kinds: scrub.kinds,
      replace: scrub.replace,
      key: keyring?.current,
      digestBytes: pseudonymize?.digestBytes,
      cache,
    });
    steps.push(trie(scrub.paths, 'privacy.scrub.paths', () => action));
  }
  const noise = config.noise !== undefined ? createNoise(config.noise, ctx) : undefined;
  // The encoder's maxDepth, when the host passes it: toPlain then stops exactly where the encoder does.
  const maxDepth = typeof ctx.maxDepth === 'number' ? ctx.maxDepth : undefined;
  return {
    keyring,
    apply(record: Record<string, unknown>): Record<string, unknown> {
      // Every step, noise included, and the encoder see one shape: plain data (plain.ts).
      // One copy-on-write state for all of them: the containers toPlain made and
      // those an earlier step copied are this call's own and are written in place;
      // only the caller's containers are copied, once (issue 15, item 2).
      const cow = new Cow();
      let r: object = toPlain(record, maxDepth, (c) => cow.own(c));
      for (const step of steps) r = rewrite(r, step, cow);
      return noise ? noise.applyPlain(r as Record<string, unknown>, cow) : (r as Record<string, unknown>);
    },
    close() {
      // Hands unused leased ε back to the shared budget table.
      noise?.close();
      // Drops the cached identifiers now rather than when the pipeline is collected.
      cache?.clear();
    },
  };
}
