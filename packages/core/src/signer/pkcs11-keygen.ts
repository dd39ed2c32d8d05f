import { SealogError } from '../errors.js';
import { TIME_COSIGNER_SUFFIX } from '../note/keys.js';
import { openPkcs11Key } from './pkcs11.js';
import { checkPair, generatePair, lookupPair } from './pkcs11-keys.js';
import {
  acquireModule,
  CK,
  ckrName,
  closeQuietly,
  describeToken,
  findSlot,
  type Handle,
  login,
  logout,
  releaseModule,
} from './pkcs11-module.js';
import { type Pkcs11KeyOptions, readPkcs11Pin, validatePkcs11Options } from './pkcs11-options.js';

/**
 * `sealog keygen --pkcs11`: generates the log pair `label` and the time pair
 * `<label>/time` on the token (CKM_EC_EDWARDS_KEY_PAIR_GEN; private keys
 * token-resident, private, sensitive, not extractable, sign only), or adopts
 * both when they already exist and pass the checks of {@link openPkcs11Key}.
 * Refuses a token holding only one of the two pairs or half of one.
 * @returns whether the pairs were created, and their verifier keys.
 * @throws SealogError like openPkcs11Key.
 */
export async function createPkcs11Key(
  options: Pkcs11KeyOptions,
): Promise<{ created: boolean; log: string; time: string }> {
  const opts = validatePkcs11Options(options, 'pkcs11');
  const m = acquireModule(opts.module);
  const where = describeToken(opts);
  let created = false;
  try {
    const slot = findSlot(m, opts);
    let session: Handle;
    try {
      session = m.p11.C_OpenSession(slot, CK.CKF_SERIAL_SESSION | CK.CKF_RW_SESSION);
    } catch (err) {
      throw new SealogError(
        'E_IO',
        `cannot open a read-write session on ${where} (${ckrName(err) ?? 'error'})`,
      );
    }
    try {
      login(m, session, slot, readPkcs11Pin(opts), where);
      try {
        const labels = [opts.label, `${opts.label}${TIME_COSIGNER_SUFFIX}`];
        const found = labels.map((l) => lookupPair(m, session, l, where));
        const counts = found.map((f) => f.privs.length + f.pubs.length);
        if (counts.every((n) => n === 0)) {
          const made: Handle[] = [];
          try {
            for (const l of labels) {
              const kp = generatePair(m, session, l, where);
              made.push(kp.priv, kp.pub);
            }
          } catch (err) {
            // Never leave one pair behind: a rerun would refuse the half-made layout.
            for (const h of made) {
              try {
                m.p11.C_DestroyObject(session, h);
              } catch {
                // Reported below as the generation failure; the stray pair names itself by label.
              }
            }
            throw err;
          }
          created = true;
        } else if (counts.some((n) => n === 0)) {
          const [have, missing] = counts[0] === 0 ? [labels[1], labels[0]] : [labels[0], labels[1]];
          throw new SealogError(
            'E_KEY',
            `${where} holds keys labelled ${JSON.stringify(have)} but none labelled ${JSON.stringify(missing)}; a checkpoint key is two pairs, so this is not adopted (choose another label, or remove the stray keys)`,
          );
        }
        for (const f of found) if (!created) checkPair(m, session, f, where);
      } finally {
        logout(m, session, slot);
      }
    } finally {
      closeQuietly(m, session);
    }
  } finally {
    releaseModule(m);
  }
  const key = await openPkcs11Key(opts);
  try {
    return { created, log: key.log.verifierKey, time: key.time.verifierKey };
  } finally {
    await key.close();
  }
}
