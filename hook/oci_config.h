/* patchgate-runtime: a bundle's config.json, as runc and crun will read it,
 * with exactly one patchgate-hook entry spliced in.
 *
 * runc decodes config.json with Go's encoding/json: a key that matches no
 * field exactly is matched case-insensitively, with Unicode simple folding
 * (so "hoo\u212As", KELVIN SIGN, and "hook\u017F", LONG S, are `hooks`),
 * and two keys for one field are both decoded into it, the later winning
 * (or merging, for an object).  crun's parser takes keys exactly.  Any such
 * key would let the document that patchgate checked differ from the one a
 * runtime runs, so a config.json holding one is refused: after that every
 * field has at most one key, spelled exactly, and runc, crun and this file
 * read the same hooks.
 */
#ifndef PATCHGATE_OCI_CONFIG_H
#define PATCHGATE_OCI_CONFIG_H

#include "base/util.h"

/* The hook entry patchgate-runtime adds: path, args, env, timeout.  */
struct pg_hook_entry
{
  char *path;
  char **args;
  size_t n_args;
  char **env;
  size_t n_env;
  int timeout;
};
void hook_entry_free (struct pg_hook_entry *h);
json_t *hook_entry_json (const struct pg_hook_entry *h);

/* KEY names FIELD (ASCII letters) as Go's encoding/json matches a key to a
   struct field: equal once ASCII letters are upper-cased, U+212A taken as K
   and U+017F as S (the only non-ASCII runes whose simple case folding
   reaches an ASCII letter).  */
bool oci_key_folds_to (const char *key, const char *field);

/* Refuse every key of CONFIG that names a field of its level only up to
   case ("`Hooks` is `hooks` spelled another way"), at the levels runc
   decodes into structs that decide which hooks run and what the hook reads
   (the top level, `hooks`, each hook entry) and at those that say what the
   container is (`process`, `root`, each of `mounts`, `linux`, each of
   `linux.namespaces`).  Keys of maps (`annotations`, `linux.sysctl`) are
   data, which Go matches exactly, and are never refused.  */
int oci_config_check_keys (json_t *config, pg_error_t *err);

/* PATH is patchgate's hook, as far as H is concerned: its last component
   is `patchgate-hook` or H's own file name, or it is the same file (device
   and inode) as H's path.  */
bool oci_hook_is_patchgate (const char *path, const struct pg_hook_entry *h);

/* TEXT (config.json) with every entry that runs patchgate's hook removed
   from every hook stage (whatever its arguments), and H appended to
   hooks.createRuntime.  Every byte outside the hook arrays it edits stays;
   in an edited array, the entries it keeps stay byte for byte.  *OUT is
   NULL when the result is TEXT itself (H is already the only patchgate
   entry, last in createRuntime).  Refuses (returns -1) what runc and crun
   could read differently: invalid JSON, duplicate keys, case-folded keys,
   hooks of the wrong type.  */
int oci_config_set_hook (const char *text, size_t len, const struct pg_hook_entry *h, char **out,
                         size_t *out_len, pg_error_t *err);

#endif
