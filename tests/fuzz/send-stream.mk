# SPDX-License-Identifier: GPL-2.0-only
# The send stream parser's libFuzzer target, built on its own until
# tests/fuzz/Makefile exists in main (then: "TARGETS += send-stream" there,
# tools/dmcowctl/send/*.c among its sources, and this file goes).
#
#   make -f send-stream.mk            build/send-stream
#   make -f send-stream.mk run        fuzz it FUZZ_SECONDS (30) from corpus/send-stream

TOP := $(abspath ../..)
SEND := $(TOP)/tools/dmcowctl/send
BUILD := build
CC := clang
SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wvla $(SAN) -I$(TOP)/tools/dmcowctl
SRCS := send-stream.c $(SEND)/stream.c $(SEND)/reader.c $(SEND)/writer.c

$(BUILD)/send-stream: $(SRCS) $(SEND)/send.h send-stream.mk
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $(SRCS) -lisal

run: $(BUILD)/send-stream
	@mkdir -p $(BUILD)/corpus/send-stream
	$(BUILD)/send-stream -max_total_time=$${FUZZ_SECONDS:-30} -timeout=10 \
		-max_len=2200000 $(BUILD)/corpus/send-stream corpus/send-stream

.PHONY: run
