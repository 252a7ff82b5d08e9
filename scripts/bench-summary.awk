# scripts/bench-summary.awk: medians, ratios and goals of the setup-speed
# benchmark (scripts/bench-setup-guest.sh) from its "run key=value ..."
# lines. POSIX awk: runs under busybox awk in the guest and mawk/gawk on the
# host.
#
#   awk -f bench-summary.awk -v mode=size runs     per size: medians, step
#                                                  breakdown, ratios, goals
#   awk -f bench-summary.awk -v mode=table logs... one table across sizes
#
# Never an exit status for a number: goals are printed as "met"/"not met".

# the goals of issue 10
BEGIN {
	G_CDH = 0.35; G_RAW = 4; G_CONST = 0.6; G_WIPE = 0.8; G_SPREAD = 0.1
	NPIPES = split("dmsealctl cdh-nokdf cdh-argon2id nointeg raw wipe-full", PIPES, " ")
}

$1 == "run" {
	size = ""; pipe = ""; nf = 0
	delete_f()
	for (i = 2; i <= NF; i++) {
		eq = index($i, "=")
		if (!eq) continue
		k = substr($i, 1, eq - 1); v = substr($i, eq + 1)
		if (k == "size") size = v
		else if (k == "pipe") pipe = v
		f[k] = v; fk[++nf] = k
	}
	if (size == "" || pipe == "") next
	if (!(size in seen_size)) { seen_size[size] = 1; sizes[++nsizes] = size }
	sp = size SUBSEP pipe
	nrun[sp]++
	for (i = 1; i <= nf; i++) {
		k = fk[i]
		if (k == "size" || k == "pipe" || k == "rep" || k == "disk" || k == "mode" || k == "tput_size" || k == "kerr" || k == "fsblock")
			continue
		add(sp, k, f[k])
	}
	if (pipe == "dmsealctl" || pipe == "wipe-full") {
		add(sp, "const", f["total"] - f["mkfs"])
		if ("json_total" in f)
			add(sp, "json_const", f["json_total"] - f["mkfs"])
	}
	if ("mode" in f) mode_of[sp] = f["mode"]
	if ("fsblock" in f) fsblock_of[sp] = f["fsblock"]
	if ("tput_size" in f) tput_size[size] = f["tput_size"] " (" f["tput_mib"] " MiB)"
	kerr[size] += f["kerr"]
}

function delete_f(   k) { for (k in f) delete f[k] }

# add(SP, KEY, VALUE): one sample; the pipeline's keys in first-seen order
function add(sp, k, v) {
	if (!((sp, k) in cnt)) { cnt[sp, k] = 0; keys[sp] = keys[sp] " " k }
	val[sp, k, ++cnt[sp, k]] = v + 0
}

# med(SP, KEY): the median, "" without samples
function med(sp, k,   n, i, j, t, a) {
	n = ((sp, k) in cnt) ? cnt[sp, k] : 0
	if (!n) return ""
	for (i = 1; i <= n; i++) a[i] = val[sp, k, i]
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
		a[j + 1] = t
	}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "" : a / b }
function fmt(x, p) { return x == "" ? "-" : sprintf(p, x) }
function goal(x, op, lim) {
	if (x == "") return "n/a"
	return (op == "<=" ? x <= lim : x >= lim) ? "met" : "not met"
}

function size_summary(size,   p, sp, k, n, ks, line, d, c, r, w, raw_w, raw_r) {
	d = size SUBSEP "dmsealctl"
	printf "== size %s: medians (seconds to a mounted filesystem; MiB/s) ==\n", size
	printf "%-13s %3s %8s  %s\n", "pipeline", "n", "ready", "step breakdown (median s)"
	for (p = 1; p <= NPIPES; p++) {
		sp = size SUBSEP PIPES[p]
		if (!(sp in nrun)) continue
		n = split(keys[sp], ks, " ")
		line = ""
		for (k = 1; k <= n; k++) {
			if (ks[k] ~ /^(total|setup|write|read|tput_mib|bytes|const|json_const|json_total|zeroed|wipe_rate|dd_mib|dd_rate|wipe_ratio)$/)
				continue
			line = line sprintf(" %s=%.3f", ks[k], med(sp, ks[k]))
		}
		if ((sp, "json_total") in cnt)
			line = line sprintf(" (own total %.3f)", med(sp, "json_total"))
		if (sp in mode_of) line = line " [integrity " mode_of[sp] "]"
		if (sp in fsblock_of) line = line " [ext4 " fsblock_of[sp] " blocks]"
		printf "%-13s %3d %8.3f %s\n", PIPES[p], nrun[sp], med(sp, "total"), line
	}
	print "ratios of median ready times:"
	r = ratio(med(d, "total"), med(size SUBSEP "cdh-nokdf", "total"))
	printf "  dmsealctl / cdh-nokdf     %7sx   goal <= %.2fx: %s\n", fmt(r, "%.3f"), G_CDH, goal(r, "<=", G_CDH)
	r = ratio(med(d, "total"), med(size SUBSEP "cdh-argon2id", "total"))
	printf "  dmsealctl / cdh-argon2id  %7sx\n", fmt(r, "%.3f")
	r = ratio(med(d, "total"), med(size SUBSEP "nointeg", "total"))
	printf "  dmsealctl / nointeg       %7sx\n", fmt(r, "%.3f")
	r = ratio(med(d, "total"), med(size SUBSEP "raw", "total"))
	printf "  dmsealctl / raw           %7sx   goal <= %gx: %s\n", fmt(r, "%.3f"), G_RAW, goal(r, "<=", G_RAW)
	c = med(d, "const")
	printf "  dmsealctl ready - mkfs    %7s s  goal <= %.1f s: %s (own JSON total - mkfs: %s s)\n",
		fmt(c, "%.3f"), G_CONST, goal(c, "<=", G_CONST), fmt(med(d, "json_const"), "%.3f")
	printf "throughput, file of %s, MiB/s and ratio to raw:\n", (size in tput_size) ? tput_size[size] : "?"
	printf "  %-13s %8s %6s %8s %6s\n", "pipeline", "write", "x raw", "read", "x raw"
	raw_w = med(size SUBSEP "raw", "write"); raw_r = med(size SUBSEP "raw", "read")
	for (p = 1; p <= NPIPES; p++) {
		sp = size SUBSEP PIPES[p]
		if (!((sp, "write") in cnt)) continue
		w = med(sp, "write"); r = med(sp, "read")
		printf "  %-13s %8.1f %6s %8.1f %6s\n", PIPES[p], w, fmt(ratio(w, raw_w), "%.2f"), r, fmt(ratio(r, raw_r), "%.2f")
	}
	sp = size SUBSEP "wipe-full"
	if ((sp, "wipe_ratio") in cnt) {
		r = med(sp, "wipe_ratio")
		printf "wipe-full: wipe %.1f MiB/s (%.3f s), dd through the same stack %.1f MiB/s: %.3fx   goal >= %.1fx: %s\n",
			med(sp, "wipe_rate"), med(sp, "wipe"), med(sp, "dd_rate"), r, G_WIPE, goal(r, ">=", G_WIPE)
	}
	printf "kernel error lines (AEAD/I/O/EXT4 errors) during the runs: %d\n", kerr[size]
}

function cell(size, p, k) { return med(size SUBSEP p, k) }

function table(   s, size, d, r, c, cmin, cmax, w) {
	print "== setup: median seconds to a mounted filesystem =="
	printf "%-6s | %9s | %10s | %12s | %12s | %7s | %20s | %13s\n", "size", "dmsealctl", "CDH no-KDF",
		"CDH argon2id", "no-integrity", "raw", "dmsealctl/CDH no-KDF", "dmsealctl/raw"
	for (s = 1; s <= nsizes; s++) {
		size = sizes[s]
		d = cell(size, "dmsealctl", "total")
		printf "%-6s | %9s | %10s | %12s | %12s | %7s | %20s | %13s\n", size, fmt(d, "%.3f"),
			fmt(cell(size, "cdh-nokdf", "total"), "%.3f"), fmt(cell(size, "cdh-argon2id", "total"), "%.3f"),
			fmt(cell(size, "nointeg", "total"), "%.3f"), fmt(cell(size, "raw", "total"), "%.3f"),
			fmt(ratio(d, cell(size, "cdh-nokdf", "total")), "%.3fx"), fmt(ratio(d, cell(size, "raw", "total")), "%.2fx")
	}
	print ""
	print "== throughput through each volume as a ratio to the raw disk (write / cold read) =="
	printf "%-6s | %13s | %13s | %13s | %13s | %17s\n", "size", "dmsealctl", "CDH no-KDF", "CDH argon2id",
		"no-integrity", "raw MiB/s"
	for (s = 1; s <= nsizes; s++) {
		size = sizes[s]
		printf "%-6s | %13s | %13s | %13s | %13s | %17s\n", size, tp(size, "dmsealctl"), tp(size, "cdh-nokdf"),
			tp(size, "cdh-argon2id"), tp(size, "nointeg"),
			fmt(cell(size, "raw", "write"), "%.0f") " / " fmt(cell(size, "raw", "read"), "%.0f")
	}
	print ""
	print "== goals (issue 10) =="
	printf "%-6s | %22s | %16s | %19s | %22s\n", "size", "dmsealctl/CDH <=" G_CDH "x", "dmsealctl/raw <=" G_RAW "x",
		"ready-mkfs <=" G_CONST " s", "wipe/dd >=" G_WIPE "x"
	cmin = ""; cmax = ""
	for (s = 1; s <= nsizes; s++) {
		size = sizes[s]
		d = cell(size, "dmsealctl", "total")
		c = cell(size, "dmsealctl", "const")
		if (c != "") {
			if (cmin == "" || c < cmin) cmin = c
			if (cmax == "" || c > cmax) cmax = c
		}
		r = ratio(d, cell(size, "cdh-nokdf", "total"))
		w = cell(size, "wipe-full", "wipe_ratio")
		printf "%-6s | %22s | %16s | %19s | %22s\n", size,
			fmt(r, "%.3f") " " goal(r, "<=", G_CDH),
			fmt(ratio(d, cell(size, "raw", "total")), "%.2f") " " goal(ratio(d, cell(size, "raw", "total")), "<=", G_RAW),
			fmt(c, "%.3f") " " goal(c, "<=", G_CONST), fmt(w, "%.3f") " " goal(w, ">=", G_WIPE)
	}
	if (nsizes > 1 && cmin != "")
		printf "dmsealctl ready - mkfs across sizes: %.3f .. %.3f s, spread %.3f s (constant if <= %.1f s): %s\n",
			cmin, cmax, cmax - cmin, G_SPREAD, goal(cmax - cmin, "<=", G_SPREAD)
}

function tp(size, p,   rw, rr) {
	rw = ratio(cell(size, p, "write"), cell(size, "raw", "write"))
	rr = ratio(cell(size, p, "read"), cell(size, "raw", "read"))
	return fmt(rw, "%.2f") " / " fmt(rr, "%.2f")
}

END {
	if (!nsizes) { print "bench-summary: no run lines"; exit 0 }
	if (mode == "table") table()
	else for (s = 1; s <= nsizes; s++) size_summary(sizes[s])
}
