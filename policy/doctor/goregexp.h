/* patchgate: whether Go's regexp.Compile accepts a pattern.
 *
 * podman and CRI-O compile a hooks.d file's `when.annotations` keys and
 * values and its `when.commands` with Go's regexp (RE2 syntax, Perl flags)
 * when they load the file; one that does not compile makes them fail the
 * whole directory.  This follows the error cases of Go's regexp/syntax
 * parser: bad UTF-8, unbalanced parentheses, a repetition with nothing to
 * repeat or of a repetition (`a**`), counts above 1000 (also nested, as
 * (a{100}){20}), bad escapes (backreferences, \C), bad classes and ranges,
 * unknown POSIX classes and Unicode categories, bad (?flags) and named
 * groups.  One approximation: a Unicode script name (\p{Greek}) is accepted
 * when it looks like one (a capital letter, then letters and `_`), without
 * Go's table of scripts.
 */
#ifndef PATCHGATE_DOCTOR_GOREGEXP_H
#define PATCHGATE_DOCTOR_GOREGEXP_H

#include "base/util.h"

/* 0 when Go would compile PATTERN; else -1 and *WHY (malloc'd) says what
   Go's error would say, e.g. "missing closing ): `(a`".  */
int pg_go_regexp_check (const char *pattern, char **why);

#endif
