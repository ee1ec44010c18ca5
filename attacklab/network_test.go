package attacklab

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/peerscore/peerscore/internal/bubble"
)

const testDelay = 30 * time.Millisecond

// arrival is one read: what it returned and when.
type arrival struct {
	data []byte
	at   time.Time
}

// readAll reads r until it fails, one byte per read when small is set,
// and returns what arrived and the error that ended it.
func readAll(r io.Reader, small bool) ([]arrival, error) {
	var got []arrival
	buf := make([]byte, 64)
	if small {
		buf = buf[:1]
	}
	for {
		n, err := r.Read(buf)
		if n > 0 {
			got = append(got, arrival{data: append([]byte(nil), buf[:n]...), at: time.Now()})
		}
		if err != nil {
			return got, err
		}
	}
}

func TestPipeDeliversInOrderAfterTheSendersDelay(t *testing.T) {
	labTest(t, func() {
		a, b := newPipe(testDelay, time.Hour)
		done := make(chan []arrival)
		go func() {
			got, err := readAll(b, false)
			if !errors.Is(err, io.EOF) {
				t.Errorf("reader ended with %v, want EOF after CloseWrite", err)
			}
			done <- got
		}()
		start := time.Now()
		var sent []time.Time
		for i := range 50 {
			if _, err := a.Write([]byte{byte(i)}); err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
			sent = append(sent, time.Now())
			if i%10 == 9 {
				time.Sleep(7 * time.Millisecond) // some writes overlap in flight, some not
			}
		}
		if time.Since(start) != 5*7*time.Millisecond {
			t.Fatalf("writes took %v of simulated time: Write waited for delivery", time.Since(start))
		}
		_ = a.CloseWrite()
		got := <-done
		if len(got) != 50 {
			t.Fatalf("%d writes arrived, want 50", len(got))
		}
		for i, g := range got {
			if len(g.data) != 1 || g.data[0] != byte(i) {
				t.Fatalf("read %d returned %v: reordered or merged", i, g.data)
			}
			lag := g.at.Sub(sent[i])
			if lag < testDelay || lag >= testDelay+jitterMax {
				t.Errorf("write %d took %v, want the delay %v plus at most the jitter", i, lag, testDelay)
			}
		}
	})
}

func TestPipeShortReadsGetTheRestOfAWrite(t *testing.T) {
	labTest(t, func() {
		a, b := newPipe(testDelay, testDelay)
		_, _ = a.Write([]byte("abc"))
		_, _ = a.Write([]byte("de"))
		_ = a.CloseWrite()
		got, err := readAll(b, true)
		if !errors.Is(err, io.EOF) {
			t.Fatalf("reader ended with %v, want EOF", err)
		}
		var all []byte
		for _, g := range got {
			all = append(all, g.data...)
		}
		if string(all) != "abcde" || len(got) != 5 {
			t.Errorf("one-byte reads returned %q in %d reads, want \"abcde\" in 5", all, len(got))
		}
	})
}

func TestPipeFlowsAreIndependent(t *testing.T) {
	labTest(t, func() {
		a, b := newPipe(testDelay, 3*testDelay)
		_, _ = a.Write([]byte{1})
		_, _ = b.Write([]byte{2})
		start := time.Now()
		buf := make([]byte, 1)
		if _, err := b.Read(buf); err != nil || buf[0] != 1 {
			t.Fatalf("b read %v, %v; want a's byte", buf, err)
		}
		if lag := time.Since(start); lag < testDelay || lag >= testDelay+jitterMax {
			t.Errorf("a's write took %v, want a's delay %v", lag, testDelay)
		}
		if _, err := a.Read(buf); err != nil || buf[0] != 2 {
			t.Fatalf("a read %v, %v; want b's byte", buf, err)
		}
		if lag := time.Since(start); lag < 3*testDelay || lag >= 3*testDelay+jitterMax {
			t.Errorf("b's write took %v, want b's delay %v", lag, 3*testDelay)
		}
		_ = a.CloseWrite()
		if _, err := b.Write([]byte{3}); err != nil {
			t.Errorf("b's write after a closed its own side: %v, want it to go through", err)
		}
		if _, err := a.Write([]byte{4}); !errors.Is(err, network.ErrReset) {
			t.Errorf("write after CloseWrite: %v, want ErrReset", err)
		}
	})
}

func TestPipeFullFlowBlocksTheWriterUntilRead(t *testing.T) {
	labTest(t, func() {
		a, b := newPipe(testDelay, testDelay)
		for i := range delayQueue {
			_, _ = a.Write([]byte{byte(i)})
		}
		wrote := make(chan error)
		go func() {
			_, err := a.Write([]byte{1}) // beyond the window: waits
			wrote <- err
		}()
		time.Sleep(time.Hour)
		select {
		case err := <-wrote:
			t.Fatalf("a write beyond %d unread returned before anything was read (%v)", delayQueue, err)
		default:
		}
		if _, err := b.Read(make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		if err := <-wrote; err != nil {
			t.Errorf("the waiting write after a read: %v", err)
		}
	})
}

func TestPipeResetFreesWritersAndReadersAndDropsWhatIsInFlight(t *testing.T) {
	labTest(t, func() {
		a, b := newPipe(time.Hour, time.Hour)
		for i := range delayQueue {
			_, _ = a.Write([]byte{byte(i)})
		}
		wrote := make(chan error)
		go func() {
			_, err := a.Write([]byte{1})
			wrote <- err
		}()
		read := make(chan error)
		go func() {
			_, err := a.Read(make([]byte, 1)) // b never writes
			read <- err
		}()
		time.Sleep(time.Millisecond)
		if err := b.Reset(); err != nil {
			t.Fatal(err)
		}
		if err := <-wrote; !errors.Is(err, network.ErrReset) {
			t.Errorf("blocked write after Reset: %v, want ErrReset", err)
		}
		if err := <-read; !errors.Is(err, network.ErrReset) {
			t.Errorf("blocked read after Reset: %v, want ErrReset", err)
		}
		time.Sleep(2 * time.Hour)
		if n, err := b.Read(make([]byte, 1)); n != 0 || !errors.Is(err, network.ErrReset) {
			t.Errorf("read after Reset, once the writes were due: %d bytes, %v; want none and ErrReset", n, err)
		}
	})
}

func TestPipeCloseReadRefusesTheOtherSide(t *testing.T) {
	labTest(t, func() {
		a, b := newPipe(testDelay, testDelay)
		_, _ = a.Write([]byte{1})
		_ = b.CloseRead()
		if _, err := a.Write([]byte{2}); !errors.Is(err, network.ErrReset) {
			t.Errorf("write to an end that closed its read side: %v, want ErrReset", err)
		}
		if _, err := b.Write([]byte{3}); err != nil {
			t.Errorf("the end that closed its read side can still write: %v", err)
		}
		if n, err := a.Read(make([]byte, 1)); n != 1 || err != nil {
			t.Errorf("a read %d, %v; want b's byte", n, err)
		}
	})
}

// TestPipeIdleCostsNoGoroutine: at full scale a run holds over a million
// stream ends, most of which never write.
func TestPipeIdleCostsNoGoroutine(t *testing.T) {
	labTest(t, func() {
		before := bubble.Goroutines()
		ends := make([]*pipeEnd, 0, 2000)
		for range 1000 {
			a, b := newPipe(testDelay, testDelay)
			ends = append(ends, a, b)
		}
		if after := bubble.Goroutines(); after != before {
			t.Errorf("1,000 idle pipes added %d goroutines, want 0", after-before)
		}
		_, _ = ends[0].Write([]byte{1})
		if _, err := ends[1].Read(make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * testDelay)
		if after := bubble.Goroutines(); after != before {
			t.Errorf("a pipe that has delivered everything keeps %d goroutines, want 0", after-before)
		}
	})
}

// TestMockNetStreamsRunOverTheHostsConnection: a stream between lab hosts
// is a pipe on their mocknet connection, reaches the handler set for the
// first protocol both speak, carries the sender's latency, and breaks when
// the connection closes.
func TestMockNetStreamsRunOverTheHostsConnection(t *testing.T) {
	labTest(t, func() {
		n := newMockNet()
		defer n.close()
		a, err := n.addHost(netip.MustParseAddr("1.2.3.4"), 4001, testDelay)
		if err != nil {
			t.Fatal(err)
		}
		b, err := n.addHost(netip.MustParseAddr("5.6.7.8"), 4001, 2*testDelay)
		if err != nil {
			t.Fatal(err)
		}
		accepted := make(chan network.Stream, 1)
		b.SetStreamHandler("/b/1", func(s network.Stream) { accepted <- s })
		b.SetStreamHandler("/b/2", func(network.Stream) { t.Error("the handler of the second choice ran") })
		ctx := context.Background()
		if err := n.connect(ctx, a, b); err != nil {
			t.Fatal(err)
		}
		if _, err := a.NewStream(ctx, b.ID(), "/none"); err == nil {
			t.Error("a stream for a protocol b does not speak opened")
		}
		s, err := a.NewStream(ctx, b.ID(), "/none", "/b/1", "/b/2")
		if err != nil {
			t.Fatal(err)
		}
		in := <-accepted
		if s.Protocol() != "/b/1" || in.Protocol() != "/b/1" {
			t.Errorf("protocols %q and %q, want /b/1 on both ends", s.Protocol(), in.Protocol())
		}
		if s.Conn().RemotePeer() != b.ID() || in.Conn().RemotePeer() != a.ID() {
			t.Error("the ends' connections do not lead to the other host")
		}
		if got := in.Conn().RemoteMultiaddr().String(); got != "/ip4/1.2.3.4/tcp/4001" {
			t.Errorf("b sees a at %s, want a's address (IP colocation reads it)", got)
		}
		start := time.Now()
		_, _ = s.Write([]byte("hi"))
		if _, err := io.ReadFull(in, make([]byte, 2)); err != nil {
			t.Fatal(err)
		}
		if lag := time.Since(start); lag < testDelay || lag >= testDelay+jitterMax {
			t.Errorf("a's write took %v, want a's egress %v", lag, testDelay)
		}
		read := make(chan error)
		go func() {
			_, err := in.Read(make([]byte, 1))
			read <- err
		}()
		time.Sleep(time.Millisecond)
		if err := a.Network().ClosePeer(b.ID()); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-read:
			if !errors.Is(err, network.ErrReset) {
				t.Errorf("read on a closed connection: %v, want ErrReset", err)
			}
		case <-time.After(time.Minute): // the hosts' timers keep the bubble's clock going
			t.Fatal("a read on a closed connection still waits a minute later")
		}
	})
}

func TestDelayHostHandlerChoice(t *testing.T) {
	labTest(t, func() {
		n := newMockNet()
		defer n.close()
		a, _ := n.addHost(netip.MustParseAddr("1.2.3.4"), 4001, testDelay)
		b, _ := n.addHost(netip.MustParseAddr("5.6.7.8"), 4001, testDelay)
		if err := n.connect(context.Background(), a, b); err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		b.SetStreamHandlerMatch("/x/1.0.0", func(id protocol.ID) bool { return strings.HasPrefix(string(id), "/x/") },
			func(s network.Stream) { got <- "match " + string(s.Protocol()) })
		open := func(pids ...protocol.ID) (string, error) {
			s, err := a.NewStream(context.Background(), b.ID(), pids...)
			if err != nil {
				return "", err
			}
			defer s.Reset()
			return <-got, nil
		}
		if h, err := open("/y/1", "/x/2.0.0"); err != nil || h != "match /x/2.0.0" {
			t.Errorf("a protocol the match function accepts: %q, %v; want the match handler on /x/2.0.0", h, err)
		}
		b.SetStreamHandler("/x/1.0.0", func(s network.Stream) { got <- "exact " + string(s.Protocol()) })
		if h, err := open("/x/1.0.0"); err != nil || h != "exact /x/1.0.0" {
			t.Errorf("after setting /x/1.0.0 again: %q, %v; want the new handler only", h, err)
		}
		if _, err := open("/x/2.0.0"); err == nil {
			t.Error("the replaced match handler still accepts /x/2.0.0")
		}
		b.RemoveStreamHandler("/x/1.0.0")
		if _, err := open("/x/1.0.0"); err == nil {
			t.Error("a stream opened for a removed handler")
		}
	})
}
