# floodgate - one non-recursive Makefile; everything it builds goes to build/.
#
#   make            build everything (BPF objects, skeletons, fgctl, floodgate, tools, tests)
#   make run        install missing packages, build, start the demo (scripts/run.sh)
#   make test       install missing packages, build, run every test tier (tests/run.sh)
#   make bench-xdp  edge-filter benchmarks -> build/bench/xdp.json, docs/benchmarks.md
#   make bench-gw   gateway benchmarks     -> build/bench/gw.json, docs/benchmarks.md
#   make bench-ban  ban propagation, goodput under flood (daemon + XDP) -> build/bench/ban.json
#   make bench-gw-ir instructions per request of the short answers (callgrind) -> build/bench/gw-ir.json
#   make fmt        clang-format every C file in place; make fmt-check only checks
#   make install    fgctl, floodgate and the tools into $(DESTDIR)$(PREFIX)/sbin
#   V=1             show the full commands
#
# Sources are found by directory, so adding a file needs no edit here:
#   bpf/*.bpf.c            -> build/bpf/*.bpf.o -> build/include/*.skel.h
#   userspace/common/*.c   -> build/lib/libfgcommon.a
#   loader/*.c             -> build/fgctl        (all but main.c also in libfgctl.a)
#   userspace/gw/*.c       -> build/floodgate    (all but main.c also in libfggw.a)
#   tools/NAME/*.c         -> build/NAME
#   tests/unit/**/*.c      -> build/tests/unit/**  (one cmocka program per file)
#   tests/bpf/*.c          -> build/tests/bpf/*

.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:
.DEFAULT_GOAL := all

PREFIX	?= /usr/local
BUILD	:= build
CC	?= gcc
CLANG	?= clang
BPFTOOL	?= bpftool
ARCH	:= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
TRIPLE	:= $(shell $(CC) -dumpmachine)

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN	:= -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror
CFLAGS	?= -O2 -g
CPPFLAGS := -D_GNU_SOURCE -Ibpf -I$(BUILD)/include -Iuserspace/common -Iuserspace
ALL_CFLAGS = $(CFLAGS) $(WARN) -std=gnu11 -fno-strict-aliasing -MMD -MP
SYSLIBS	:= -lxdp -lbpf -lelf -lz -lh2o-evloop -lssl -lcrypto -ljansson -lhiredis \
	   -lpcre2-8 -lsqlite3 -lpthread -lm

BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -I/usr/include/$(TRIPLE) -Ibpf

# ---- sources ----
BPF_SRCS	:= $(wildcard bpf/*.bpf.c)
BPF_OBJS	:= $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS		:= $(patsubst bpf/%.bpf.c,$(BUILD)/include/%.skel.h,$(BPF_SRCS))

COMMON_SRCS	:= $(wildcard userspace/common/*.c)
COMMON_OBJS	:= $(COMMON_SRCS:%.c=$(BUILD)/%.o)
LIBCOMMON	:= $(BUILD)/lib/libfgcommon.a

FGCTL_SRCS	:= $(wildcard loader/*.c)
FGCTL_LIB_OBJS	:= $(patsubst %.c,$(BUILD)/%.o,$(filter-out loader/main.c,$(FGCTL_SRCS)))
LIBFGCTL	:= $(BUILD)/lib/libfgctl.a

GW_SRCS		:= $(wildcard userspace/gw/*.c)
GW_LIB_OBJS	:= $(patsubst %.c,$(BUILD)/%.o,$(filter-out userspace/gw/main.c,$(GW_SRCS)))
LIBGW		:= $(BUILD)/lib/libfggw.a

TOOLS		:= $(patsubst tools/%/,%,$(dir $(wildcard tools/*/*.c)))
TOOLS		:= $(sort $(TOOLS))
TOOL_BINS	:= $(addprefix $(BUILD)/,$(TOOLS))

UNIT_SRCS	:= $(shell find tests/unit -name '*.c' 2>/dev/null)
UNIT_BINS	:= $(patsubst %.c,$(BUILD)/%,$(UNIT_SRCS))
BPFT_SRCS	:= $(wildcard tests/bpf/*.c)
BPFT_BINS	:= $(patsubst %.c,$(BUILD)/%,$(BPFT_SRCS))

# libFuzzer targets (tests/fuzz/*.c), built by clang with AddressSanitizer and UBSan over
# their own instrumented copies of the daemon's sources; tests/run.sh's fuzz tier runs them.
FUZZ_SRCS	:= $(wildcard tests/fuzz/*.c)
FUZZ_BINS	:= $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_SAN	:= -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_GW_OBJS	:= $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(filter-out userspace/gw/main.c,$(GW_SRCS)))
FUZZ_COMMON_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(COMMON_SRCS))
FUZZ_LIBS	:= $(BUILD)/fuzz/libfggw.a $(BUILD)/fuzz/libfgcommon.a

BINS := $(if $(wildcard loader/main.c),$(BUILD)/fgctl) \
	$(if $(wildcard userspace/gw/main.c),$(BUILD)/floodgate) $(TOOL_BINS)
LIBS := $(LIBGW) $(LIBFGCTL) $(LIBCOMMON)

ALL_OBJS := $(COMMON_OBJS) $(FGCTL_SRCS:%.c=$(BUILD)/%.o) $(GW_SRCS:%.c=$(BUILD)/%.o) \
	    $(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/*/*.c)) \
	    $(UNIT_SRCS:%.c=$(BUILD)/%.o) $(BPFT_SRCS:%.c=$(BUILD)/%.o) \
	    $(FUZZ_GW_OBJS) $(FUZZ_COMMON_OBJS) $(FUZZ_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)

.PHONY: all deps test run bench-xdp bench-gw bench-ban bench-gw-ir fmt fmt-check install clean
all: $(BPF_OBJS) $(SKELS) $(BINS) $(UNIT_BINS) $(BPFT_BINS) $(FUZZ_BINS)

# ---- BPF ----
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/include/%.skel.h: $(BUILD)/bpf/%.bpf.o | $(BUILD)/include
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@ 2> $(@:.h=.log) || { cat $(@:.h=.log) >&2; exit 1; }

# ---- C objects: every one may include a skeleton, so skeletons come first ----
$(BUILD)/%.o: %.c | $(SKELS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

# Empty archives are fine: `ar` needs at least the symbol table.
$(LIBCOMMON): $(COMMON_OBJS)
$(LIBFGCTL): $(FGCTL_LIB_OBJS)
$(LIBGW): $(GW_LIB_OBJS)
$(LIBS):
	@mkdir -p $(@D)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fgctl: $(BUILD)/loader/main.o $(LIBFGCTL) $(LIBCOMMON)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(SYSLIBS)

$(BUILD)/floodgate: $(BUILD)/userspace/gw/main.o $(LIBGW) $(LIBCOMMON)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(SYSLIBS)

define tool_rule
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/$(1)/*.c)) $(LIBCOMMON)
	$$(call msg,LINK,$$@)
	$$(Q)$$(CC) $$(CFLAGS) -o $$@ $$^ $$(SYSLIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

# A tool's unit tests (tests/unit/tools/NAME/*.c) also link the tool's objects but main.o,
# and include its headers as "NAME/x.h".
tool_tests = $(filter $(BUILD)/tests/unit/tools/$(1)/%,$(UNIT_BINS))
tool_objs = $(filter-out %/main.o,$(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/$(1)/*.c)))
define tool_test_rule
$(call tool_tests,$(1)): TEST_OBJS = $(call tool_objs,$(1))
$(call tool_tests,$(1)): $(call tool_objs,$(1))
endef
$(foreach t,$(TOOLS),$(if $(call tool_tests,$(t)),$(eval $(call tool_test_rule,$(t)))))
$(BUILD)/tests/unit/tools/%.o: CPPFLAGS += -Itools
# fgctl's unit tests include its header ("fgctl.h"); they link libfgctl.a like every test.
$(BUILD)/tests/unit/loader/%.o: CPPFLAGS += -Iloader

# Tests link every library; the static archives contribute only what a test uses.
$(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIBS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(TEST_OBJS) $(LIBS) -lcmocka $(TEST_LIBS) $(SYSLIBS)

# The HPACK tests run nghttp2's decoder and encoder, an implementation of their own.
$(BUILD)/tests/unit/gw/hpack $(BUILD)/tests/unit/gw/hpackdec: TEST_LIBS = -lnghttp2

$(BUILD)/tests/%.o: CPPFLAGS += -Itests/unit -Itests

# ---- fuzz targets ----
$(BUILD)/fuzz/obj/%.o: %.c | $(SKELS)
	@mkdir -p $(@D)
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) $(CPPFLAGS) -Itests/unit -Itests -g -O1 $(FUZZ_SAN) $(WARN) -std=gnu11 \
		-fno-strict-aliasing -MMD -MP -c $< -o $@

$(BUILD)/fuzz/libfggw.a: $(FUZZ_GW_OBJS)
$(BUILD)/fuzz/libfgcommon.a: $(FUZZ_COMMON_OBJS)
$(FUZZ_LIBS):
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/%: $(BUILD)/fuzz/obj/tests/fuzz/%.o $(FUZZ_LIBS)
	$(call msg,LINK,$@)
	$(Q)$(CLANG) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_LIBS) -lcmocka -lnghttp2 \
		$(SYSLIBS) -ldl

$(BUILD)/bpf $(BUILD)/include:
	@mkdir -p $@

# ---- the two commands ----
deps:
	$(Q)scripts/deps.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run.sh

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/run.sh

bench-xdp: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/bench-xdp.sh

bench-gw: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/bench-gw.sh

bench-ban: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/bench-ban.sh

bench-gw-ir: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/bench-gw-ir.sh

# ---- housekeeping ----
FMT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
fmt:
	$(Q)clang-format -i $(FMT_FILES)

fmt-check:
	$(Q)clang-format --dry-run --Werror $(FMT_FILES)

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/sbin/

clean:
	rm -rf $(BUILD)

-include $(ALL_OBJS:.o=.d) $(BPF_OBJS:.o=.d)
