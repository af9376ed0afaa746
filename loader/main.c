/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * main.c - fgctl's entry point: parse, open the pinned maps when the command needs them,
 * run, and turn the outcome into the exit status (see fgctl.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fgctl.h"
#include "log.h"
#include "pin.h"

/*
 * The pin dir the operator named, when it exists, must be a directory, on bpffs unless the
 * command may mount bpffs there (attach): a wrong --pin-dir is theirs to fix (exit 2), not
 * a bpf() call failing (exit 1). A missing one is left to the command: attach creates it,
 * the others say nothing is attached. Checked before anything runs, so nothing changes
 * (detach would detach first, then find no pins to remove and leave the real ones).
 */
static int check_pin_dir(struct fgctl_ctx *ctx, bool bpffs)
{
	struct stat st;

	if (stat(ctx->pin_dir, &st)) {
		if (errno == ENOTDIR)
			return fgctl_bad(ctx, -ENOTDIR,
					 "Couldn't use pin dir %s: a part of its path is not a "
					 "directory",
					 ctx->pin_dir);
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return fgctl_bad(ctx, -ENOTDIR, "Couldn't use pin dir %s: not a directory",
				 ctx->pin_dir);
	if (bpffs && !fg_pin_is_bpffs(ctx->pin_dir))
		return fgctl_bad(ctx, -ENOTSUP,
				 "Couldn't use pin dir %s: not on a BPF filesystem (where fgctl "
				 "attach pins the maps)",
				 ctx->pin_dir);
	return 0;
}

static int open_maps(struct fgctl_ctx *ctx, struct fg_edgemap *em)
{
	int err = fg_edgemap_open(em, ctx->pin_dir);

	if (err == -ENOENT)
		return fgctl_bad(ctx, err,
				 "No floodgate maps pinned in %s: nothing is attached "
				 "(run fgctl attach IFACE first)",
				 ctx->pin_dir);
	if (err == -EPROTO)
		return fgctl_bad(ctx, err,
				 "Couldn't use map %s pinned in %s: its layout is not this "
				 "fgctl's (pinned by another version: detach, fgctl unpin, attach)",
				 em->failed, ctx->pin_dir);
	if (err)
		pr_err("Couldn't open map %s pinned in %s: %s", em->failed ? em->failed : "?",
		       ctx->pin_dir, strerror(-err));
	return err;
}

int main(int argc, char **argv)
{
	struct fgctl_ctx ctx = { .out = stdout };
	char err[FGCTL_ERR_LEN];
	struct fgctl_parsed p;
	struct fg_edgemap em;
	int ret;

	fg_log_set_ident("fgctl");
	if (fgctl_parse(argc, argv, &p, err, sizeof(err))) {
		pr_err("%s", err);
		fgctl_parsed_free(&p);
		return 2;
	}
	fg_log_level =
		FG_LOG_WARN + p.verbose > FG_LOG_DEBUG ? FG_LOG_DEBUG : FG_LOG_WARN + p.verbose;
	fg_log_hook_libbpf();
	if (p.help) {
		fgctl_help(stdout, &p);
		fgctl_parsed_free(&p);
		return 0;
	}
	ctx.pin_dir = p.pin_dir;
	ret = 0;
	if (p.cmd->flags & (FGCTL_F_MAPS | FGCTL_F_PIN_DIR | FGCTL_F_PIN_MKDIR))
		ret = check_pin_dir(&ctx, p.cmd->flags & (FGCTL_F_MAPS | FGCTL_F_PIN_DIR));
	if (!ret && p.cmd->flags & FGCTL_F_MAPS) {
		ret = open_maps(&ctx, &em);
		if (!ret)
			ctx.em = &em;
	}
	if (!ret)
		ret = p.cmd->run(&ctx, p.opts);
	if (ctx.em)
		fg_edgemap_close(ctx.em);
	fgctl_parsed_free(&p);
	if (fflush(stdout) && !ret) {
		pr_err("Couldn't write the output: %s", strerror(errno));
		ret = -EIO;
	}
	return !ret ? 0 : ctx.bad_arg ? 2 : 1;
}
