-- 004: erasure (`ivr women erase`). An erased woman's record keeps no phone, name, dates,
-- partner or health worker; when she had opted out, only a keyed hash of her number stays
-- here, so her opt-out is still honoured: `ivr enrol` and `ivr import` refuse that number
-- unless she gives a new consent (`ivr enrol --re-enrol --consent-date`).
-- hash: HMAC-SHA256 of the E.164 digits, hex, keyed with a 32-byte secret generated per
-- install and kept OUT of the database, in a 0600 file beside it (<database>.key, e.g.
-- var/ivr.db.key): a copy of the database alone cannot be searched for erased numbers.
CREATE TABLE erased_numbers (
    hash       TEXT PRIMARY KEY,
    erased_at  REAL NOT NULL
);
