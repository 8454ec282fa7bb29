/* patchgate: the parsed policy, kept beside its text in the database.
 *
 * Parsing the policy JSON was half of the hook's work per container start
 * (jansson reads some 6 MB/s, and a policy with a few dozen waivers is
 * 10-20 KB).  policy_store_set therefore also stores the parsed policy as a
 * flat binary record (meta key "policy_cache"), and decide_image rebuilds the
 * struct from it instead of parsing the text.
 *
 * The record is used only when it certainly says what parsing would: it
 * names the length and a 64-bit hash of the exact stored text, and a
 * fingerprint of the build that wrote it (the sources of the policy parser,
 * the struct layouts, the byte order).  Anything else (no record, another
 * text, another parser, a damaged record) and the loader parses the text as
 * before, through policy_load_from_store.
 */
#ifndef PATCHGATE_POLICY_CACHE_H
#define PATCHGATE_POLICY_CACHE_H

#include "rules/policy.h"

/* policy_record.c: the record, without the store.  */

/* What identifies this build's record format (the Makefile's
   PG_POLICY_PARSER_ID, the struct layouts); 0 when records are off.  */
uint64_t policy_record_fingerprint (void);
/* The record for P, parsed from BODY[0..BODY_LEN).  Free with free().  */
void *policy_cache_encode (const struct pg_policy *p, const char *body, size_t body_len, size_t *len);
/* 1 and *OUT when BLOB is a usable record for BODY; 0 when it is not.  */
int policy_cache_decode (const void *blob, size_t len, const char *body, size_t body_len,
                         struct pg_policy **out);
/* A policy read in place from a record encoded with an empty body (the
   decision index's): its strings point into BLOB, which must stay mapped
   and unchanged while it is used.  1 and *OUT, or 0 when BLOB is not such a
   record of this build.  Free with policy_view_free, never policy_free.  */
int policy_cache_view (const void *blob, size_t len, struct pg_policy **out);
void policy_view_free (struct pg_policy *p);

/* policy_cache.c: the record in the store.  */

/* Store the policy text (store_set_policy) and its record, in the caller's
   write transaction: every writer of the policy goes through here.  */
int policy_store_set (pg_store *store, const char *json, const char *version, int64_t now, pg_error_t *err);

/* Parse JSON (the text store_set_policy is storing) and store its record,
   in the caller's transaction.  A text that does not parse gets none.  */
int policy_cache_store (pg_store *store, const char *json, pg_error_t *err);

/* policy_load_from_store, from the record when it matches the stored text.  */
int policy_load_cached (pg_store *store, struct pg_policy **out, pg_error_t *err);

#endif
