#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# check-man.sh MANDIR SYMBOL-LIST
#
# Every page in MANDIR renders without a single groff warning and has a
# NAME section whatis can parse; a ".so" alias points at a page that exists
# and names the alias in its NAME section; every library page (section 3)
# has a matching .TH and the sections the house style asks for (VERSIONS
# included), no page cites fork(3), which Linux does not have; every
# exported function has its own NAME.3 (page or alias).
set -u

mandir=$1 list=$2
status=0

fail()
{
	echo "check-man: $*" >&2
	status=1
}

if ! command -v groff >/dev/null; then
	echo "check-man: groff not installed" >&2
	exit 77
fi

name_section()
{
	sed -n '/^\.SH NAME/,/^\.SH/p' "$1"
}

check_alias()
{
	page=$1 base=$2
	target=$(sed -n '1s/^\.so *man[1-8]\///p' "$page")
	if [ -z "$target" ] || [ "$(wc -l <"$page")" -ne 1 ]; then
		fail "$base: an alias must be one line: .so manN/page.N"
	elif [ ! -f "$mandir/$target" ]; then
		fail "$base: points at missing page $target"
	elif ! name_section "$mandir/$target" | grep -qw "${base%.*}"; then
		fail "$base: $target does not name ${base%.*} in NAME"
	fi
}

check_library_page()
{
	page=$1 base=$2
	th=$(sed -n 's/"//g; s/^\.TH \([^ ]*\) \([^ ]*\).*/\1.\2/p' "$page" |
		tr 'A-Z' 'a-z')
	[ "$th" = "$base" ] || fail "$base: .TH says $th"
	name_section "$page" | grep -qw "${base%.*}" ||
		fail "$base: NAME does not name ${base%.*}"
	for sh in NAME SYNOPSIS DESCRIPTION 'RETURN VALUE' ERRORS VERSIONS \
		'SEE ALSO'
	do
		grep -q "^\.SH \"\\?$sh\"\\?\$" "$page" ||
			fail "$base: no .SH $sh"
	done
}

check_page()
{
	page=$1 base=$2
	out=$(groff -t -man -ww -z "$page" 2>&1)
	[ -z "$out" ] || fail "$base: groff says: $out"
	if command -v lexgrog >/dev/null; then
		lexgrog "$page" >/dev/null 2>&1 ||
			fail "$base: whatis cannot parse the NAME section"
	fi
	# Linux has fork(2), which documents the C library's wrapper too.
	! grep -q '^\.BR fork (3)' "$page" || fail "$base: fork(3) instead of fork(2)"
	case $base in
	*.3) check_library_page "$page" "$base" ;;
	esac
}

pages=0
for page in "$mandir"/*.[1-8]; do
	[ -f "$page" ] || continue
	base=${page##*/}
	pages=$((pages + 1))
	if head -n 1 "$page" | grep -q '^\.so '; then
		check_alias "$page" "$base"
	else
		check_page "$page" "$base"
	fi
done

for sym in $(sed -n 's/@.*//p' "$list"); do
	[ -f "$mandir/$sym.3" ] || fail "exported $sym has no page $sym.3"
done

[ "$pages" -gt 0 ] || fail "no pages in $mandir"
echo "check-man: $pages pages checked"
exit $status
