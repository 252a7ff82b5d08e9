# ktap-count.awk: count results of a nested KTAP log, as produced by
# selftests/lib/run_tests.sh (programs at the top level, their own results
# indented two spaces). Prints "PASS FAIL SKIP" and notes on stderr.
#
# Counted: every leaf (two-space indented `ok`/`not ok`; `# SKIP` = skipped)
# plus, for each top-level program line:
#   - with no leaves: the program itself (ok / not ok / # SKIP);
#   - `not ok` although none of its leaves failed (crash, timeout, bad exit):
#     one more failure.
# A missing plan, or fewer top-level results than planned (the guest died
# mid-run), is one more failure.
function note(m) { print "ktap: " m > "/dev/stderr" }
{ sub(/\r$/, "") }
/^1\.\.[0-9]+/ && !have_plan { have_plan = 1; plan = substr($1, 4) + 0; next }
/^(not )?ok [0-9]+/ {
	top++
	bad = ($0 ~ /^not ok/)
	skipped = ($0 ~ /# *[Ss][Kk][Ii][Pp]/)
	if (leaves == 0) {
		if (skipped) skip++
		else if (bad) { fail++; note("failed: " $0) }
		else pass++
	} else if (bad && leaf_fail == 0) {
		fail++; note("failed: " $0)
	}
	leaves = 0; leaf_fail = 0
	next
}
/^  (not )?ok [0-9]+/ {
	leaves++
	if ($0 ~ /# *[Ss][Kk][Ii][Pp]/) skip++
	else if ($0 ~ /^  not ok/) { fail++; leaf_fail++; note("failed: " substr($0, 3)) }
	else pass++
}
END {
	if (!have_plan) { fail++; note("no KTAP plan (1..N): the run did not start or its output is lost") }
	else if (top < plan) { fail++; note("only " top + 0 " of " plan " results: the run ended early") }
	printf "%d %d %d\n", pass, fail, skip
}
