#!/usr/bin/env bats
# patchgate-hook under crun (pure cgroup2 at /sys/fs/cgroup, in this file's
# private mount namespace).  crun discards hook stderr unless the bundle's
# annotation run.oci.hooks.stderr names a file; make_bundle sets it and
# rt_run prints that file after crun's own output.

load helpers

setup_file() {
  export PG_RUNTIME=crun
  pg_require crun || return 1
  pg_setup_file syslog cgroup2 || return 1
}

teardown_file() {
  pg_teardown_file
}

setup() {
  pg_setup
}

teardown() {
  pg_teardown
}

@test "crun: a freshly scanned image runs, syslog says allow" {
  case_scanned_fresh_runs
}

@test "crun: an unscanned image is refused with the hook's reason (UNSCANNED)" {
  case_unscanned_refused
}

@test "crun: a scan 12 days old is refused under max_scan_age 7d (SCAN_STALE)" {
  case_stale_refused
}

@test "crun: an audit-mode scope lets a stale image run, logged as audit" {
  case_audit_scope_runs
}

@test "crun: a missing policy database refuses the container (hook exit 2)" {
  case_missing_db_refused
}

@test "crun: a missing policy database with on_error allow runs" {
  case_missing_db_on_error_allow_runs
}

@test "crun: the hook works at the prestart stage too" {
  case_prestart_stage
}

@test "crun: CRI-O's annotations in a bare bundle identify nothing, name nothing, scope nothing" {
  case_crio_keys_not_believed
}

@test "crun: configured annotation_keys identify the image" {
  case_annotation_keys
}

@test "crun: an unidentifiable image is refused (UNIDENTIFIED)" {
  case_unidentified_refused
}
