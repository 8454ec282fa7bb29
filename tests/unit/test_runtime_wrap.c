/* patchgate-runtime's library: runc command lines, the config.json splice
   (every other byte kept, idempotent, Go's key matching), the atomic
   rewrite of a bundle's config.json, and the choice of the real runtime.  */
#include "suite.h"
#include "runtime_wrap.h"
#include "base/file.h"

#include <sys/stat.h>

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
}

static void
hook_entry (struct pg_hook_entry *h, const char *path)
{
  memset (h, 0, sizeof (*h));
  h->path = xstrdup (path);
  strv_append (&h->args, &h->n_args, "patchgate-hook");
  strv_append (&h->env, &h->n_env, "PATH=/bin");
  h->timeout = 10;
}

#define HOOK "{\"path\":\"/pg\",\"args\":[\"patchgate-hook\"],\"env\":[\"PATH=/bin\"],\"timeout\":10}"

/* IN with the hook: OUT, or NULL when it is there already, or an error.  */
static void
check_splice (const char *in, const char *out, int ret)
{
  struct pg_hook_entry h;
  cleanup_free char *got = NULL;
  size_t len;
  pg_error_t err = NULL;

  hook_entry (&h, "/pg");
  if (oci_config_add_hook (in, strlen (in), &h, &got, &len, &err) != ret)
    fail_msg ("`%s`: expected %d (%s)", in, ret, err ? err->msg : "");
  pg_error_release (&err);
  hook_entry_free (&h);
  if (ret < 0)
    return;
  if (out == NULL && got != NULL)
    fail_msg ("`%s`: expected no change, got `%s`", in, got);
  if (out && (got == NULL || strcmp (out, got) != 0 || strlen (got) != len))
    fail_msg ("`%s`:\n got `%s`\nwant `%s`", in, got, out);
}

static void
test_splice (void **state)
{
  check_splice ("{}", "{\"hooks\":{\"createRuntime\":[" HOOK "]}}", 0);
  check_splice ("  {\n  \"ociVersion\": \"1.0.2\"\n}\n",
                "  {\n  \"ociVersion\": \"1.0.2\",\"hooks\":{\"createRuntime\":[" HOOK "]}\n}\n", 0);
  /* Unsigned 64-bit numbers and odd spacing stay as they are.  */
  check_splice (
      "{\"rlimits\":[{\"hard\":18446744073709551615}] , \"hooks\" : { } }",
      "{\"rlimits\":[{\"hard\":18446744073709551615}] , \"hooks\" : {\"createRuntime\":[" HOOK "] } }", 0);
  check_splice ("{\"hooks\":null}", "{\"hooks\":{\"createRuntime\":[" HOOK "]}}", 0);
  check_splice ("{\"hooks\":{\"prestart\":[{\"path\":\"/x\"}],\"createRuntime\":null}}",
                "{\"hooks\":{\"prestart\":[{\"path\":\"/x\"}],\"createRuntime\":[" HOOK "]}}", 0);
  check_splice ("{\"hooks\":{\"createRuntime\":[ ]}}", "{\"hooks\":{\"createRuntime\":[" HOOK " ]}}", 0);
  check_splice ("{\"hooks\":{\"createRuntime\":[{\"path\":\"/a\",\"x\":\"]}\"}],\"poststop\":[]}}",
                "{\"hooks\":{\"createRuntime\":[{\"path\":\"/a\",\"x\":\"]}\"}," HOOK "],\"poststop\":[]}}",
                0);
  /* Already there: nothing to do (idempotent), whatever the other fields.  */
  check_splice ("{\"hooks\":{\"createRuntime\":[{\"path\":\"/pg\",\"args\":[\"other\"]}]}}", NULL, 0);
  /* Go's decoder matches keys case-insensitively and through escapes.  */
  check_splice ("{\"Hooks\":{\"CreateRuntime\":[{\"Path\":\"/pg\"}]}}", NULL, 0);
  check_splice ("{\"ho\\u006fks\":{}}", "{\"ho\\u006fks\":{\"createRuntime\":[" HOOK "]}}", 0);
  check_splice ("{\"hooks\":{},\"HOOKS\":{}}", NULL, -1);
  /* A key inside a string value is not a key.  */
  check_splice ("{\"a\":\"\\\"hooks\\\":{}\"}",
                "{\"a\":\"\\\"hooks\\\":{}\",\"hooks\":{\"createRuntime\":[" HOOK "]}}", 0);
  /* Not a config.json: refused.  */
  check_splice ("", NULL, -1);
  check_splice ("[]", NULL, -1);
  check_splice ("{\"hooks\":[]}", NULL, -1);
  check_splice ("{\"hooks\":{\"createRuntime\":{}}}", NULL, -1);
  check_splice ("{\"a\":1,\"a\":2}", NULL, -1);
  check_splice ("{\"hooks\":{}", NULL, -1);
}

static void
test_bundle_add_hook (void **state)
{
  char dir[] = "/tmp/patchgate-bundle-XXXXXX";
  cleanup_free char *cfg = NULL;
  cleanup_free char *text = NULL;
  struct pg_hook_entry h;
  pg_error_t err = NULL;
  struct stat st;
  bool added;
  FILE *f;
  size_t len;

  assert_non_null (mkdtemp (dir));
  xasprintf (&cfg, "%s/config.json", dir);
  f = fopen (cfg, "w");
  fputs ("{\"ociVersion\":\"1.0.2\"}\n", f);
  fclose (f);
  chmod (cfg, 0600);
  hook_entry (&h, "/pg");

  assert_int_equal (bundle_add_hook (dir, &h, &added, &err), 0);
  assert_true (added);
  assert_int_equal (read_all_file (cfg, 1 << 20, &text, &len, &err), 0);
  assert_string_equal (text, "{\"ociVersion\":\"1.0.2\",\"hooks\":{\"createRuntime\":[" HOOK "]}}\n");
  assert_int_equal (stat (cfg, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0600);

  assert_int_equal (bundle_add_hook (dir, &h, &added, &err), 0);
  assert_false (added);

  /* A symlinked config.json is not followed.  */
  unlink (cfg);
  assert_int_equal (symlink ("/etc/hostname", cfg), 0);
  assert_int_equal (bundle_add_hook (dir, &h, &added, &err), -1);
  pg_error_release (&err);
  unlink (cfg);
  assert_int_equal (bundle_add_hook (dir, &h, &added, &err), -1);
  assert_non_null (strstr (err->msg, "config.json"));
  pg_error_release (&err);
  rmdir (dir);
  hook_entry_free (&h);
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
  setenv ("PATCHGATE_NOW", "2026-01-01T00:00:00Z", 1);
  cfg.path = (char *) "/etc/other/hook.json";
  assert_int_equal (runtime_hook_entry (&cfg, "/usr/bin/patchgate-runtime", &h, &err), 0);
  j = hook_entry_json (&h);
  s = json_dumps (j, JSON_COMPACT);
  assert_string_equal (
      s, "{\"path\":\"/opt/pg/patchgate-hook\",\"args\":[\"patchgate-hook\",\"--config\",\"/etc/other/"
         "hook.json\"],\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/"
         "bin\",\"PATCHGATE_NOW=2026-01-01T00:00:00Z\"],\"timeout\":10}");
  hook_entry_free (&h);

  /* The default config is named too: the hook never takes it from its
     environment.  */
  cfg.path = NULL;
  unsetenv ("PATCHGATE_NOW");
  assert_int_equal (runtime_hook_entry (&cfg, NULL, &h, &err), 0);
  assert_int_equal (h.n_args, 3);
  assert_string_equal (h.args[1], "--config");
  assert_string_equal (h.args[2], PG_DEFAULT_HOOK_CONFIG);
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
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parse_args),      cmocka_unit_test (test_splice),
    cmocka_unit_test (test_bundle_add_hook), cmocka_unit_test (test_hook_entry_env),
    cmocka_unit_test (test_runtime_select),
  };
  return cmocka_run_group_tests_name ("runtime_wrap", tests, NULL, NULL);
}
