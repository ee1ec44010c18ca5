package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Bounds of the check: the whole of it, and how long it waits for what
// it expects (the node's Ctrl-C included) by default.
const (
	checkTimeout = 3 * time.Minute
	defaultWait  = 45 * time.Second
	publishEvery = 200 * time.Millisecond
)

// runCheck runs the end-to-end check of the package documentation,
// starting the node with spawn (the node's flags as arguments), waiting at
// most wait for each thing it expects, and writes what it sees to out. It
// returns 0 if every check passed, else 1.
func runCheck(out io.Writer, spawn func(args ...string) *exec.Cmd, wait time.Duration) int {
	out = &lockedWriter{w: out} // the node's log comes from goroutines of its own
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "peerscore-node-")
	if err != nil {
		fmt.Fprintln(out, "FAIL:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	c := &checker{out: out, spawn: spawn, dir: dir, wait: wait}
	c.run(ctx)
	if c.failed {
		fmt.Fprintln(out, "\nFAIL: the node did not keep the spammer out")
		return 1
	}
	fmt.Fprintln(out, "\nPASS: graylisted, banned, and still banned after a restart of the process")
	return 0
}

// checker drives the check and records its verdicts.
type checker struct {
	out    io.Writer
	spawn  func(args ...string) *exec.Cmd
	dir    string
	wait   time.Duration
	failed bool

	honest  []*peerNode
	spammer *peerNode
}

// expect records a verdict.
func (c *checker) expect(ok bool, what string, args ...any) bool {
	mark := "ok  "
	if !ok {
		mark, c.failed = "FAIL", true
	}
	fmt.Fprintf(c.out, "%s %s\n", mark, fmt.Sprintf(what, args...))
	return ok
}

func (c *checker) run(ctx context.Context) {
	var err error
	for range 2 {
		p, err := newPeerNode(ctx, true)
		if !c.setUp(err, "an honest peer") {
			return
		}
		defer p.host.Close()
		c.honest = append(c.honest, p)
	}
	if c.spammer, err = newPeerNode(ctx, false); !c.setUp(err, "the spammer") {
		return
	}
	defer c.spammer.host.Close()

	first, err := c.startNode(ctx)
	if !c.expect(err == nil, "node started%s", because(err)) {
		return
	}
	ok := c.spammerCaught(ctx, first)
	c.expect(first.stop(c.wait) == nil, "node stopped cleanly, its state written")
	if !ok {
		return
	}

	second, err := c.startNode(ctx)
	if !c.expect(err == nil, "node restarted, a new process on the same directory%s", because(err)) {
		return
	}
	defer second.stop(c.wait)
	c.expect(second.addr.ID == first.addr.ID, "the node kept its peer ID")
	c.spammerStillOut(ctx, second)
	c.expect(second.stop(c.wait) == nil, "restarted node stopped cleanly")
}

// spammerCaught connects everyone to the node, lets the spammer publish
// invalid messages among honest traffic, and checks that it is
// graylisted, banned and disconnected.
func (c *checker) spammerCaught(ctx context.Context, n *nodeProcess) bool {
	for _, p := range append(slices.Clone(c.honest), c.spammer) {
		if err := p.host.Connect(ctx, n.addr); !c.expect(err == nil, "%s connected to the node%s", p.name, because(err)) {
			return false
		}
	}
	graylist, err := n.graylistThreshold(ctx)
	if !c.setUp(err, "reading the node's thresholds") {
		return false
	}
	pubCtx, stopPublishing := context.WithCancel(ctx)
	defer stopPublishing()
	go c.publish(pubCtx)

	var view peerView
	c.expect(c.eventually(ctx, func() bool {
		view, err = n.peer(ctx, c.spammer.host.ID())
		return err == nil && view.Score < graylist
	}), "spammer graylisted: score %.0f below %.0f, because of %s%s", view.Score, graylist, view.Dominant, because(err))
	c.expect(c.eventually(ctx, func() bool {
		view, err = n.peer(ctx, c.spammer.host.ID())
		return err == nil && !view.BannedUntil.IsZero()
	}), "spammer banned until %s%s", view.BannedUntil.Format(time.DateTime), because(err))
	c.expect(c.eventually(ctx, func() bool {
		return c.spammer.host.Network().Connectedness(n.addr.ID) != network.Connected
	}), "spammer disconnected")
	for _, p := range c.honest {
		c.expect(p.host.Network().Connectedness(n.addr.ID) == network.Connected, "%s still connected", p.name)
	}
	return !c.failed
}

// spammerStillOut checks the restarted node: the spammer's ban, bad score
// and reputation restored, its dial refused, an honest peer's accepted.
func (c *checker) spammerStillOut(ctx context.Context, n *nodeProcess) {
	graylist, err := n.graylistThreshold(ctx)
	if !c.setUp(err, "reading the node's thresholds") {
		return
	}
	view, err := n.peer(ctx, c.spammer.host.ID())
	c.expect(err == nil && !view.BannedUntil.IsZero(), "spammer still banned, until %s%s", view.BannedUntil.Format(time.DateTime), because(err))
	c.expect(err == nil && view.Score < graylist, "spammer's bad score restored: %.0f, below %.0f", view.Score, graylist)
	c.expect(err == nil && slices.ContainsFunc(view.AppReasons, func(r string) bool { return strings.HasPrefix(r, "invalid block") }),
		"spammer's reputation restored: %v", view.AppReasons)
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = c.spammer.host.Connect(dialCtx, n.addr)
	c.expect(err != nil || c.spammer.host.Network().Connectedness(n.addr.ID) != network.Connected,
		"spammer's dial refused")
	c.expect(c.eventually(ctx, func() bool {
		return c.spammer.host.Network().Connectedness(n.addr.ID) != network.Connected
	}), "spammer not connected")
	err = c.honest[0].host.Connect(ctx, n.addr)
	c.expect(err == nil, "an honest peer's dial accepted%s", because(err))
}

// publish has the honest peers publish valid messages and the spammer
// invalid ones, in turn, until ctx ends.
func (c *checker) publish(ctx context.Context) {
	tick := time.NewTicker(publishEvery)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		_ = c.honest[i%len(c.honest)].topic.Publish(ctx, fmt.Appendf(nil, "block %d", i))
		_ = c.spammer.topic.Publish(ctx, fmt.Appendf(nil, "bad %d", i))
	}
}

// setUp reports a failure to set the check up, and whether all went well.
func (c *checker) setUp(err error, what string) bool {
	if err != nil {
		c.expect(false, "%s%s", what, because(err))
	}
	return err == nil
}

// because is ": " and err, or nothing for no error.
func because(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}

// eventually polls cond until it holds, for at most c.wait.
func (c *checker) eventually(ctx context.Context, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(ctx, c.wait)
	defer cancel()
	for {
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// peerNode is one of the node's peers: a host with a GossipSub router in
// the topic, in this process.
type peerNode struct {
	name  string
	host  host.Host
	topic *pubsub.Topic
}

// newPeerNode starts a peer; an honest one does not relay invalid
// messages.
func newPeerNode(ctx context.Context, honest bool) (*peerNode, error) {
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		return nil, err
	}
	p := &peerNode{name: "spammer", host: h}
	ps, err := pubsub.NewGossipSub(ctx, h)
	if err == nil && honest {
		p.name = "honest peer " + h.ID().String()[len(h.ID().String())-6:]
		err = ps.RegisterTopicValidator(topicName, func(_ context.Context, _ peer.ID, m *pubsub.Message) bool { return valid(m.Data) })
	}
	if err == nil {
		p.topic, err = ps.Join(topicName)
	}
	if err == nil {
		_, err = p.topic.Subscribe()
	}
	if err != nil {
		h.Close()
		return nil, err
	}
	return p, nil
}

// nodeProcess is the node, running in a child process.
type nodeProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  peer.AddrInfo
	debug string // host:port
	done  chan error

	stopped sync.Once
	result  error // of stop
}

// startNode starts the node on the checker's directory and waits until it
// accepts connections. Its log goes to the checker's output, indented.
func (c *checker) startNode(ctx context.Context) (*nodeProcess, error) {
	cmd := c.spawn("-dir", c.dir, "-stdin", "-check", "1s", "-save", "5s")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n := &nodeProcess{cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	go indent(c.out, stderr)
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if !sc.Scan() {
			ready <- errors.New("the node exited before it was ready")
			return
		}
		ready <- n.parseReady(sc.Text())
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { n.done <- cmd.Wait() }()
	select {
	case err = <-ready:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, err
	}
	return n, nil
}

// parseReady reads the node's "ready <libp2p address> <debug address>".
func (n *nodeProcess) parseReady(line string) error {
	fields := strings.Fields(line)
	if len(fields) != 3 || fields[0] != "ready" {
		return fmt.Errorf("unexpected first line from the node: %q", line)
	}
	addr, err := ma.NewMultiaddr(fields[1])
	if err != nil {
		return err
	}
	info, err := peer.AddrInfoFromP2pAddr(addr)
	if err != nil {
		return err
	}
	n.addr, n.debug = *info, fields[2]
	return nil
}

// stop closes the node's standard input, which stops it as SIGTERM would,
// and waits for it to exit; it kills it after wait.
func (n *nodeProcess) stop(wait time.Duration) error {
	n.stopped.Do(func() {
		_ = n.stdin.Close()
		select {
		case n.result = <-n.done:
		case <-time.After(wait):
			_ = n.cmd.Process.Kill()
			n.result = errors.New("the node did not stop; killed")
		}
	})
	return n.result
}

// peerView is what the check reads of GET /debug/peerscore/peers/{id}.
type peerView struct {
	Score       float64   `json:"score"`
	Dominant    string    `json:"dominant"`
	AppReasons  []string  `json:"app_reasons"`
	BannedUntil time.Time `json:"banned_until"`
}

// peer reads the node's view of p.
func (n *nodeProcess) peer(ctx context.Context, p peer.ID) (peerView, error) {
	var v struct{ Data peerView }
	err := n.get(ctx, "/debug/peerscore/peers/"+p.String(), &v)
	return v.Data, err
}

// graylistThreshold reads the node's graylist threshold.
func (n *nodeProcess) graylistThreshold(ctx context.Context) (float64, error) {
	var v struct {
		Data struct {
			Thresholds struct {
				Graylist float64 `json:"graylist_threshold"`
			} `json:"thresholds"`
		}
	}
	err := n.get(ctx, "/debug/peerscore/params", &v)
	return v.Data.Thresholds.Graylist, err
}

func (n *nodeProcess) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.debug+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// indent copies the node's log lines to out, indented under the check's.
func indent(out io.Writer, r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fmt.Fprintln(out, "     node: "+sc.Text())
	}
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
