// Command node is the whole peerscore kit in one libp2p node, started and
// stopped in the order that keeps a banned peer out across restarts: a
// host built with the ban gater and listening nowhere yet, the
// application's reputation and the scorer, the saved peer state loaded
// from LevelDB (package dsstore), the GossipSub router, the ban monitor,
// the connection-manager tagger, Prometheus metrics and the JSON views;
// only then does the host listen. node.go is the part to copy.
//
// Run without flags, it checks all of it end to end, with real TCP
// connections on 127.0.0.1: it starts the node as a child process, two
// honest peers and a spammer that publishes invalid messages; the spammer
// must be graylisted, then banned; the node is stopped and started again,
// a new process on the same directory, and the spammer must still be
// banned, its bad score and its reputation restored, and refused when it
// dials. It exits with status 1 if any check fails.
//
//	go run ./examples/node              # the end-to-end check, in seconds
//	go run ./examples/node -node -dir d # just the node, until interrupted
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	asNode := flag.Bool("node", false, "run the node itself, until interrupted")
	dir := flag.String("dir", "", "with -node: the node's directory (identity key, LevelDB); created if missing")
	listen := flag.String("listen", "/ip4/127.0.0.1/tcp/0", "with -node: the libp2p address to accept connections on")
	debug := flag.String("debug", "127.0.0.1:0", "with -node: the address of /metrics and /debug/peerscore/")
	check := flag.Duration("check", 30*time.Second, "with -node: the ban monitor's check interval")
	save := flag.Duration("save", 30*time.Second, "with -node: how often the peer state is written to LevelDB")
	stdin := flag.Bool("stdin", false, "with -node: also stop when stdin closes (how the check stops its child)")
	flag.Parse()
	if !*asNode {
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(runCheck(os.Stdout, func(args ...string) *exec.Cmd {
			return exec.Command(self, append([]string{"-node"}, args...)...)
		}, defaultWait))
	}
	cfg := config{dir: *dir, listen: *listen, debug: *debug, check: *check, save: *save,
		logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	os.Exit(runNode(cfg, *stdin))
}

// runNode runs a node until SIGINT or SIGTERM (or, with stopOnStdin, the
// end of its standard input), printing "ready <libp2p address> <debug
// address>" on its standard output once it accepts connections. It
// returns the process's exit status.
func runNode(cfg config, stopOnStdin bool) int {
	if cfg.dir == "" {
		cfg.logger.Error("-node needs -dir")
		return 2
	}
	if err := os.MkdirAll(cfg.dir, 0o700); err != nil {
		cfg.logger.Error("cannot create the node's directory", "err", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if stopOnStdin {
		go func() {
			_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
			stop()
		}()
	}
	n, err := start(ctx, cfg)
	if err != nil {
		cfg.logger.Error("cannot start the node", "err", err)
		return 1
	}
	fmt.Printf("ready %s %s\n", n.Addr, n.DebugAddr)
	<-ctx.Done()
	if err := n.stop(); err != nil {
		cfg.logger.Error("stopping the node", "err", err)
		return 1
	}
	return 0
}
