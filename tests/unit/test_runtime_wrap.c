/* patchgate-runtime's library: runc command lines, config.json as runc and
   crun read it (tests/unit/data/runtime_wrap/: a folder per config.json,
   with the hooks expected after the edit or the expected refusal), the
   atomic rewrite of a bundle's config.json, the hook entry and the choice
   of the real runtime.

   A case folder holds config.json (or config.gen.json: {"head", "repeat",
   "times", "tail"} for inputs too large to keep) and either error (a
   substring of the refusal) or expected.json (the `hooks` object after the
   edit), and optionally expected-config.json (the output, byte for byte).
   In every file @HOOKDIR@ is a directory holding patchgate-hook (the hook
   the wrapper adds), other-hook, alias (a symlink to patchgate-hook) and
   pg-hardlink (a hard link to it); "@ENTRY@" is the entry the wrapper adds.
   tests/integration/runtime_wrapper.bats runs the same folders under real
   runc and crun.  */
#include "suite.h"
#include "runtime_wrap.h"
#include "base/file.h"
#include "base/json.h"

#include <fcntl.h>
#include <sys/stat.h>

static char hook_dir[] = "/tmp/patchgate-hooks-XXXXXX";

static void
hook_entry (struct pg_hook_entry *h, const char *path)
{
  memset (h, 0, sizeof (*h));
  h->path = xstrdup (path);
  strv_append (&h->args, &h->n_args, "patchgate-hook");
  strv_append (&h->args, &h->n_args, "--engine");
  strv_append (&h->args, &h->n_args, "docker");
  strv_append (&h->env, &h->n_env, "PATH=/bin");
  h->timeout = 10;
}

static void
corpus_entry (struct pg_hook_entry *h)
{
  cleanup_free char *p = NULL;
  xasprintf (&p, "%s/patchgate-hook", hook_dir);
  hook_entry (h, p);
}

/* TEXT with every FROM replaced by TO; TEXT is freed.  */
static char *
subst (char *text, const char *from, const char *to)
{
  char *out = NULL, *at;
  size_t fl = strlen (from);

  while ((at = strstr (text, from)))
    {
      *at = '\0';
      free (out);
      xasprintf (&out, "%s%s%s", text, to, at + fl);
      free (text);
      text = out;
      out = NULL;
    }
  return text;
}

/* A case file, raw, with the placeholders filled; NULL when absent.  */
static char *
case_file (const char *dir, const char *name, const char *entry, size_t *len)
{
  cleanup_free char *path = NULL;
  char *buf = NULL;
  size_t n;

  xasprintf (&path, "%s/%s", dir, name);
  if (access (path, F_OK) < 0)
    return NULL;
  if (read_all_file (path, 1 << 26, &buf, &n, NULL) < 0)
    fail_msg ("%s: cannot read", path);
  buf = subst (buf, "@HOOKDIR@", hook_dir);
  buf = subst (buf, "\"@ENTRY@\"", entry);
  if (len)
    *len = strlen (buf);
  return buf;
}

/* config.gen.json: HEAD, REPEAT TIMES times, TAIL.  */
static char *
generated_config (const char *dir, size_t *len)
{
  cleanup_json json_t *g = suite_json (dir, "config.gen.json", false);
  const char *head, *rep, *tail;
  size_t times, hl, rl, tl;
  char *out;

  if (g == NULL)
    return NULL;
  head = pg_json_string (g, "head");
  rep = pg_json_string (g, "repeat");
  tail = pg_json_string (g, "tail");
  times = (size_t) json_integer_value (json_object_get (g, "times"));
  assert_true (head && rep && tail);
  hl = strlen (head), rl = strlen (rep), tl = strlen (tail);
  *len = hl + rl * times + tl;
  out = xmalloc0 (*len + 1);
  memcpy (out, head, hl);
  for (size_t i = 0; i < times; i++)
    memcpy (out + hl + i * rl, rep, rl);
  memcpy (out + hl + rl * times, tail, tl);
  return out;
}

static json_t *
parse (const char *text, size_t len, const char *what)
{
  json_t *j = NULL;
  pg_error_t err = NULL;
  if (pg_json_parse_flags (text, len, what, JSON_DECODE_INT_AS_REAL, &j, &err) < 0)
    fail_msg ("%s: %s", what, err->msg);
  return j;
}

/* Patchgate's entries in every stage of the output: exactly one, H's, in
   createRuntime.  */
static void
check_one_entry (json_t *hooks, json_t *entry, const struct pg_hook_entry *h, const char *name)
{
  static const char *const stages[]
      = { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" };
  int found = 0;

  for (size_t s = 0; s < sizeof (stages) / sizeof (stages[0]); s++)
    {
      const char *stage = stages[s];
      json_t *arr = json_object_get (hooks, stage);
      size_t i;
      json_t *e;
      json_array_foreach (arr, i, e)
        {
          const char *p = pg_json_string (e, "path");
          if (p == NULL || !oci_hook_is_patchgate (p, h))
            continue;
          found++;
          if (strcmp (stage, "createRuntime") != 0 || !json_equal (e, entry))
            fail_msg ("%s: a patchgate entry other than the wrapper's in %s", name, stage);
        }
    }
  if (found != 1)
    fail_msg ("%s: %d patchgate entries after the edit", name, found);
}

static void
test_corpus_case (void **state)
{
  const char *dir = *state;
  const char *name = strrchr (dir, '/') + 1;
  struct pg_hook_entry h;
  cleanup_json json_t *entry_json = NULL;
  cleanup_free char *entry = NULL;
  cleanup_free char *in = NULL;
  cleanup_free char *want_err = NULL;
  cleanup_free char *want_hooks_text = NULL;
  cleanup_free char *want_config = NULL;
  cleanup_free char *out = NULL;
  cleanup_free char *again = NULL;
  cleanup_json json_t *in_doc = NULL;
  cleanup_json json_t *out_doc = NULL;
  cleanup_json json_t *want_hooks = NULL;
  pg_error_t err = NULL;
  size_t len, out_len, again_len;
  int r;

  corpus_entry (&h);
  entry_json = hook_entry_json (&h);
  entry = json_dumps (entry_json, JSON_COMPACT);
  in = case_file (dir, "config.json", entry, &len);
  if (in == NULL)
    in = generated_config (dir, &len);
  if (in == NULL)
    fail_msg ("%s: no config.json nor config.gen.json", name);
  want_err = case_file (dir, "error", entry, NULL);
  want_hooks_text = case_file (dir, "expected.json", entry, NULL);
  want_config = case_file (dir, "expected-config.json", entry, NULL);
  if ((want_err == NULL) == (want_hooks_text == NULL))
    fail_msg ("%s: needs exactly one of error and expected.json", name);

  r = oci_config_set_hook (in, len, &h, &out, &out_len, &err);
  if (want_err)
    {
      size_t el = strlen (want_err);
      while (el && want_err[el - 1] == '\n')
        want_err[--el] = '\0';
      if (r == 0)
        fail_msg ("%s: accepted, expected a refusal with `%s`", name, want_err);
      if (strstr (err->msg, want_err) == NULL)
        fail_msg ("%s: refused with `%s`, expected `%s`", name, err->msg, want_err);
      assert_null (out);
      pg_error_release (&err);
      hook_entry_free (&h);
      return;
    }
  if (r < 0)
    fail_msg ("%s: refused: %s", name, err->msg);
  if (out == NULL)
    {
      /* Unchanged: the input is its own output.  */
      out = xstrdup (in);
      out_len = len;
    }

  /* The hooks are the expected ones, patchgate's entry is there once, and
     nothing else of the document changed.  */
  want_hooks = parse (want_hooks_text, strlen (want_hooks_text), "expected.json");
  out_doc = parse (out, out_len, "output");
  in_doc = parse (in, len, "input");
  if (!json_equal (json_object_get (out_doc, "hooks"), want_hooks))
    {
      cleanup_free char *got = json_dumps (json_object_get (out_doc, "hooks"), JSON_COMPACT);
      fail_msg ("%s: hooks\n got %s\nwant %s", name, got, want_hooks_text);
    }
  {
    /* Parsed as the output was: its timeout a real.  */
    cleanup_json json_t *ej = parse (entry, strlen (entry), "entry");
    check_one_entry (json_object_get (out_doc, "hooks"), ej, &h, name);
  }
  json_object_del (in_doc, "hooks");
  json_object_del (out_doc, "hooks");
  if (!json_equal (in_doc, out_doc))
    fail_msg ("%s: the edit changed more than the hooks", name);
  if (want_config && (strlen (want_config) != out_len || memcmp (want_config, out, out_len) != 0))
    fail_msg ("%s: output\n got `%s`\nwant `%s`", name, out, want_config);

  /* Idempotent: the output is left as it is.  */
  if (oci_config_set_hook (out, out_len, &h, &again, &again_len, &err) < 0)
    fail_msg ("%s: the output is refused: %s", name, err->msg);
  if (again)
    fail_msg ("%s: a second pass changed it:\n`%s`\n`%s`", name, out, again);
  hook_entry_free (&h);
}

static void
write_file (const char *path, const char *text, mode_t mode)
{
  FILE *f = fopen (path, "w");
  assert_non_null (f);
  fputs (text, f);
  fclose (f);
  assert_int_equal (chmod (path, mode), 0);
}

static int
corpus_setup (void **state)
{
  cleanup_free char *hook = NULL;
  cleanup_free char *other = NULL;
  cleanup_free char *alias = NULL;
  cleanup_free char *hard = NULL;

  if (mkdtemp (hook_dir) == NULL)
    return -1;
  xasprintf (&hook, "%s/patchgate-hook", hook_dir);
  xasprintf (&other, "%s/other-hook", hook_dir);
  xasprintf (&alias, "%s/alias", hook_dir);
  xasprintf (&hard, "%s/pg-hardlink", hook_dir);
  write_file (hook, "#!/bin/sh\nexit 0\n", 0755);
  write_file (other, "#!/bin/sh\nexit 0\n", 0755);
  return symlink ("patchgate-hook", alias) == 0 && link (hook, hard) == 0 ? 0 : -1;
}

static int
corpus_teardown (void **state)
{
  const char *names[] = { "patchgate-hook", "other-hook", "alias", "pg-hardlink" };
  for (size_t i = 0; i < 4; i++)
    {
      cleanup_free char *p = NULL;
      xasprintf (&p, "%s/%s", hook_dir, names[i]);
      unlink (p);
    }
  rmdir (hook_dir);
  return 0;
}

/* --- the rest, one test each ---------------------------------------------- */

static void
check_args (const char *line, const char *command, const char *bundle, int ret)
{
  char *argv[32];
  int argc = 0;
  cleanup_free char *copy = xstrdup (line);
  struct pg_runtime_args a;
  pg_error_t err = NULL;
  char *save = NULL;

  for (char *t = strtok_r (copy, " ", &save); t && argc < 31; t = strtok_r (NULL, " ", &save))
    argv[argc++] = t;
  argv[argc] = NULL;
  if (runtime_parse_args (argc, argv, &a, &err) != ret)
    fail_msg ("`%s`: expected %d", line, ret);
  pg_error_release (&err);
  if (ret < 0)
    return;
  if ((command == NULL) != (a.command == NULL) || (command && strcmp (command, a.command) != 0))
    fail_msg ("`%s`: command %s, expected %s", line, a.command, command);
  if ((bundle == NULL) != (a.bundle == NULL) || (bundle && strcmp (bundle, a.bundle) != 0))
    fail_msg ("`%s`: bundle %s, expected %s", line, a.bundle, bundle);
}

static void
test_parse_args (void **state)
{
  struct pg_runtime_args a = { 0 };

  check_args ("runc --version", NULL, NULL, 0);
  check_args ("runc", NULL, NULL, 0);
  check_args ("runc state abc", "state", NULL, 0);
  /* Docker's shim: global options with values before the command.  */
  check_args (
      "runc --root /run/docker/runtime-runc/moby --log /x/log.json --log-format json create --bundle /b "
      "--pid-file /x/init.pid abc",
      "create", "/b", 0);
  check_args ("runc --root=/r --systemd-cgroup create -b /b2 abc", "create", "/b2", 0);
  check_args ("runc -root /r create -bundle=/b3 abc", "create", "/b3", 0);
  check_args ("runc create --bundle=/b4 --bundle /b5 abc", "create", "/b5", 0);
  check_args ("runc create -b=/b6 abc", "create", "/b6", 0);
  check_args ("runc create abc", "create", NULL, 0);
  check_args ("runc run --detach --bundle /b7 abc", "run", "/b7", 0);
  /* A value that looks like --bundle belongs to its option.  */
  check_args ("runc create --pid-file --bundle --bundle /b8 abc", "create", "/b8", 0);
  check_args ("runc --log-format text kill abc KILL", "kill", NULL, 0);
  /* --bundle is create's: other commands' arguments are not read.  */
  check_args ("runc exec --bundle /nope abc sh", "exec", NULL, 0);
  check_args ("runc create --bundle", "create", NULL, -1);
  check_args ("runc --root", NULL, NULL, -1);
  check_args ("runc -- create", "create", NULL, 0);
  /* restore makes a container from a bundle too, and runs its hooks.  */
  check_args ("runc restore --image-path /ckpt --bundle /b9 abc", "restore", "/b9", 0);
  check_args ("runc restore --image-path --bundle --work-path /w -b /b10 abc", "restore", "/b10", 0);
  check_args ("runc restore --bundle", "restore", NULL, -1);
  a.command = "restore";
  assert_true (runtime_creates (&a));
  a.command = "checkpoint";
  assert_false (runtime_creates (&a));
  a.command = "start";
  assert_false (runtime_creates (&a));
}

/* Go's key matching, field by field (the corpus has the documents).  */
static void
test_key_folds (void **state)
{
  assert_true (oci_key_folds_to ("hooks", "hooks"));
  assert_true (oci_key_folds_to ("HOOKS", "hooks"));
  assert_true (oci_key_folds_to ("hoo\xe2\x84\xaas", "hooks"));
  assert_true (oci_key_folds_to ("hook\xc5\xbf", "hooks"));
  assert_true (oci_key_folds_to ("\xe2\x84\xaa\xc5\xbf", "ks"));
  assert_true (oci_key_folds_to ("CreateRuntime", "createRuntime"));
  assert_false (oci_key_folds_to ("hook", "hooks"));
  assert_false (oci_key_folds_to ("hooks ", "hooks"));
  assert_false (oci_key_folds_to ("hoo\xe2\x84\xaa", "hooks"));
  /* Kelvin is K only, long s is S only.  */
  assert_false (oci_key_folds_to ("\xe2\x84\xaa", "s"));
  assert_false (oci_key_folds_to ("\xc5\xbf", "k"));
  /* Bit 5 makes case for letters only: '@' is not '`', '[' not '{'.  */
  assert_false (oci_key_folds_to ("@", "`"));
  /* A truncated sequence at the end is no match, and no overread.  */
  assert_false (oci_key_folds_to ("hoo\xe2\x84", "hooks"));
  assert_false (oci_key_folds_to ("hoo\xe2", "hooks"));
  /* Dotted and dotless i fold to no ASCII letter.  */
  assert_false (oci_key_folds_to ("l\xc4\xb1nux", "linux"));
  assert_false (oci_key_folds_to ("l\xc4\xb0nux", "linux"));
}

static void
test_is_patchgate (void **state)
{
  struct pg_hook_entry h;

  hook_entry (&h, "/opt/pg/recording-hook");
  assert_true (oci_hook_is_patchgate ("/usr/local/libexec/oci/hooks.d/patchgate-hook", &h));
  assert_true (oci_hook_is_patchgate ("patchgate-hook", &h));
  /* Its own file name, wherever it is.  */
  assert_true (oci_hook_is_patchgate ("/elsewhere/recording-hook", &h));
  assert_false (oci_hook_is_patchgate ("/usr/bin/patchgate-hook-not", &h));
  assert_false (oci_hook_is_patchgate ("/usr/bin/true", &h));
  hook_entry_free (&h);
  /* The same file under another name.  */
  hook_entry (&h, "/bin/sh");
  assert_true (oci_hook_is_patchgate ("/bin/../bin/sh", &h));
  hook_entry_free (&h);
}

static void
test_bundle_set_hook (void **state)
{
  char dir[] = "/tmp/patchgate-bundle-XXXXXX";
  cleanup_free char *cfg = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *entry = NULL;
  cleanup_free char *want = NULL;
  cleanup_json json_t *ej = NULL;
  struct pg_hook_entry h;
  pg_error_t err = NULL;
  struct stat st;
  bool changed;
  size_t len;

  assert_non_null (mkdtemp (dir));
  xasprintf (&cfg, "%s/config.json", dir);
  write_file (cfg, "{\"ociVersion\":\"1.0.2\"}\n", 0640);
  assert_int_equal (chown (cfg, 0, 4), 0);
  hook_entry (&h, "/pg/patchgate-hook");
  ej = hook_entry_json (&h);
  entry = json_dumps (ej, JSON_COMPACT);

  assert_int_equal (bundle_set_hook (dir, &h, &changed, &err), 0);
  assert_true (changed);
  assert_int_equal (read_all_file (cfg, 1 << 20, &text, &len, &err), 0);
  xasprintf (&want, "{\"ociVersion\":\"1.0.2\",\"hooks\":{\"createRuntime\":[%s]}}\n", entry);
  assert_string_equal (text, want);
  /* Mode and owner kept, no temp file left.  */
  assert_int_equal (stat (cfg, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0640);
  assert_int_equal (st.st_gid, 4);
  {
    size_t n;
    char **names = suite_cases (dir, &n);
    assert_int_equal (n, 1);
    strv_free (names, n);
  }

  assert_int_equal (bundle_set_hook (dir, &h, &changed, &err), 0);
  assert_false (changed);

  /* Refused, config.json untouched: a Kelvin-sign `hooks`.  */
  write_file (cfg, "{\"hoo\\u212As\":{}}", 0644);
  assert_int_equal (bundle_set_hook (dir, &h, &changed, &err), -1);
  assert_non_null (strstr (err->msg, "spelled another way"));
  pg_error_release (&err);
  free (text);
  assert_int_equal (read_all_file (cfg, 1 << 20, &text, &len, &err), 0);
  assert_string_equal (text, "{\"hoo\\u212As\":{}}");

  /* A symlinked config.json is not followed, a FIFO not waited on.  */
  unlink (cfg);
  assert_int_equal (symlink ("/etc/hostname", cfg), 0);
  assert_int_equal (bundle_set_hook (dir, &h, &changed, &err), -1);
  pg_error_release (&err);
  unlink (cfg);
  assert_int_equal (mkfifo (cfg, 0600), 0);
  assert_int_equal (bundle_set_hook (dir, &h, &changed, &err), -1);
  assert_non_null (strstr (err->msg, "not a regular file"));
  pg_error_release (&err);
  unlink (cfg);
  assert_int_equal (bundle_set_hook (dir, &h, &changed, &err), -1);
  assert_non_null (strstr (err->msg, "config.json"));
  pg_error_release (&err);

  /* Larger than the limit: refused before parsing.  */
  {
    int fd = open (cfg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true (fd >= 0);
    assert_int_equal (ftruncate (fd, (off_t) PG_MAX_CONFIG_SIZE + 1), 0);
    close (fd);
  }
  assert_int_equal (bundle_set_hook (dir, &h, &changed, &err), -1);
  assert_non_null (strstr (err->msg, "larger than"));
  pg_error_release (&err);
  unlink (cfg);
  rmdir (dir);
  hook_entry_free (&h);
}

static void
test_write_atomic_like (void **state)
{
  char dir[] = "/tmp/patchgate-atomic-XXXXXX";
  cleanup_free char *path = NULL;
  cleanup_free char *text = NULL;
  pg_error_t err = NULL;
  struct stat like, st;
  size_t len;

  assert_non_null (mkdtemp (dir));
  xasprintf (&path, "%s/f", dir);
  memset (&like, 0, sizeof (like));
  like.st_mode = S_IFREG | 0600;
  like.st_uid = 1;
  like.st_gid = 2;
  assert_int_equal (pg_write_file_atomic_like (path, "abc", 3, &like, &err), 0);
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0600);
  assert_int_equal (st.st_uid, 1);
  assert_int_equal (st.st_gid, 2);
  assert_int_equal (read_all_file (path, 16, &text, &len, &err), 0);
  assert_string_equal (text, "abc");
  /* The plain form: 0644, the caller's.  */
  assert_int_equal (pg_write_file_atomic (path, "d", 1, &err), 0);
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0644);
  assert_int_equal (st.st_uid, getuid ());
  unlink (path);
  rmdir (dir);
}

static void
test_hook_entry_env (void **state)
{
  struct pg_hook_config cfg = { 0 };
  struct pg_hook_entry h;
  pg_error_t err = NULL;
  cleanup_json json_t *j = NULL;
  cleanup_free char *s = NULL;

  setenv ("PATCHGATE_HOOK", "/opt/pg/patchgate-hook", 1);
  /* The runtime's environment never reaches the hook: not the clock.  */
  setenv ("PATCHGATE_NOW", "2026-01-01T00:00:00Z", 1);
  cfg.path = (char *) "/etc/other/hook.json";
  assert_int_equal (runtime_hook_entry (&cfg, "/usr/bin/patchgate-runtime", &h, &err), 0);
  j = hook_entry_json (&h);
  s = json_dumps (j, JSON_COMPACT);
  assert_string_equal (
      s, "{\"path\":\"/opt/pg/patchgate-hook\",\"args\":[\"patchgate-hook\",\"--engine\",\"docker\","
         "\"--config\",\"/etc/other/hook.json\"],\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/"
         "usr/sbin:/usr/bin:/sbin:/bin\"],\"timeout\":10}");
  hook_entry_free (&h);
  unsetenv ("PATCHGATE_NOW");

  /* The default config is named too: the hook never takes it from its
     environment.  */
  cfg.path = NULL;
  unsetenv ("PATCHGATE_NOW");
  assert_int_equal (runtime_hook_entry (&cfg, NULL, &h, &err), 0);
  assert_int_equal (h.n_args, 5);
  assert_string_equal (h.args[1], "--engine");
  assert_string_equal (h.args[3], "--config");
  assert_string_equal (h.args[4], PG_DEFAULT_HOOK_CONFIG);
  assert_int_equal (h.n_env, 1);
  hook_entry_free (&h);

  setenv ("PATCHGATE_HOOK", "relative/hook", 1);
  assert_int_equal (runtime_hook_entry (&cfg, NULL, &h, &err), -1);
  pg_error_release (&err);
  unsetenv ("PATCHGATE_HOOK");
  /* Nothing beside SELF: the default install path.  */
  assert_int_equal (runtime_hook_entry (NULL, "/nonexistent/bin/patchgate-runtime", &h, &err), 0);
  assert_string_equal (h.path, PG_DEFAULT_HOOK_PATH);
  hook_entry_free (&h);
}

static void
test_runtime_select (void **state)
{
  struct pg_hook_config cfg = { 0 };
  pg_error_t err = NULL;
  char *r = NULL;

  unsetenv ("PATCHGATE_RUNTIME");
  assert_int_equal (runtime_select (NULL, "/x/patchgate-runtime", &r, &err), 0);
  assert_string_equal (r, "runc");
  free (r);
  cfg.runtime_path = (char *) "/usr/bin/crun";
  assert_int_equal (runtime_select (&cfg, "/x/patchgate-runtime", &r, &err), 0);
  assert_string_equal (r, "/usr/bin/crun");
  free (r);
  setenv ("PATCHGATE_RUNTIME", "/usr/sbin/runc", 1);
  assert_int_equal (runtime_select (&cfg, "/x/patchgate-runtime", &r, &err), 0);
  assert_string_equal (r, "/usr/sbin/runc");
  free (r);
  setenv ("PATCHGATE_RUNTIME", "./runc", 1);
  assert_int_equal (runtime_select (&cfg, NULL, &r, &err), -1);
  pg_error_release (&err);
  /* Itself: refused, or it would exec itself forever.  */
  setenv ("PATCHGATE_RUNTIME", "/bin/sh", 1);
  assert_int_equal (runtime_select (&cfg, "/bin/sh", &r, &err), -1);
  assert_non_null (strstr (err->msg, "itself"));
  pg_error_release (&err);
  unsetenv ("PATCHGATE_RUNTIME");
}

int
main (void)
{
  static const struct CMUnitTest fixed[] = {
    cmocka_unit_test (test_parse_args),        cmocka_unit_test (test_key_folds),
    cmocka_unit_test (test_is_patchgate),      cmocka_unit_test (test_bundle_set_hook),
    cmocka_unit_test (test_write_atomic_like), cmocka_unit_test (test_hook_entry_env),
    cmocka_unit_test (test_runtime_select),
  };
  const size_t n_fixed = sizeof (fixed) / sizeof (fixed[0]);
  cleanup_free char *root = suite_path ("tests/unit/data/runtime_wrap");
  size_t n;
  char **cases = suite_cases (root, &n);
  struct CMUnitTest *tests = xmalloc0 ((n + n_fixed) * sizeof (*tests));
  int ret;

  for (size_t i = 0; i < n; i++)
    {
      char *dir = NULL;
      xasprintf (&dir, "%s/%s", root, cases[i]);
      tests[i] = (struct CMUnitTest){ .name = cases[i], .test_func = test_corpus_case, .initial_state = dir };
    }
  memcpy (tests + n, fixed, sizeof (fixed));
  ret = _cmocka_run_group_tests ("runtime_wrap", tests, n + n_fixed, corpus_setup, corpus_teardown);
  for (size_t i = 0; i < n; i++)
    free (tests[i].initial_state);
  free (tests);
  strv_free (cases, n);
  return ret;
}
