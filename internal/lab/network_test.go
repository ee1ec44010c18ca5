package lab

import (
	"bytes"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
)

// recordingStream is the stream under a delayStream: it records what
// arrives and when.
type recordingStream struct {
	network.Stream // nil: only the methods below are called

	mu         sync.Mutex
	got        [][]byte
	at         []time.Time
	closeWrite int
	resets     int
	fail       error // returned by Write once set
}

func (r *recordingStream) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return 0, r.fail
	}
	r.got = append(r.got, bytes.Clone(b))
	r.at = append(r.at, time.Now())
	return len(b), nil
}

func (r *recordingStream) CloseWrite() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeWrite++
	return nil
}

func (r *recordingStream) Close() error { return r.CloseWrite() }

func (r *recordingStream) Reset() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resets++
	return nil
}

func (r *recordingStream) arrivals() ([][]byte, []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.got...), append([]time.Time(nil), r.at...)
}

const testDelay = 30 * time.Millisecond

func TestDelayStreamDeliversInOrderAfterTheDelay(t *testing.T) {
	labTest(t, func() {
		under := &recordingStream{}
		d := newDelayStream(under, testDelay)
		start := time.Now()
		var sent []time.Time
		for i := range 50 {
			if _, err := d.Write([]byte{byte(i)}); err != nil {
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
		time.Sleep(testDelay + jitterMax)
		got, at := under.arrivals()
		if len(got) != 50 {
			t.Fatalf("%d writes arrived, want 50", len(got))
		}
		for i := range got {
			if got[i][0] != byte(i) {
				t.Fatalf("arrival %d carries write %d: reordered", i, got[i][0])
			}
			lag := at[i].Sub(sent[i])
			if lag < testDelay || lag >= testDelay+jitterMax {
				t.Errorf("write %d took %v, want the delay %v plus at most the jitter", i, lag, testDelay)
			}
			if i > 0 && at[i].Before(at[i-1]) {
				t.Errorf("write %d arrived before write %d", i, i-1)
			}
		}
	})
}

func TestDelayStreamCloseWriteWaitsForWhatWasWritten(t *testing.T) {
	labTest(t, func() {
		under := &recordingStream{}
		d := newDelayStream(under, testDelay)
		for i := range 3 {
			_, _ = d.Write([]byte{byte(i)})
		}
		start := time.Now()
		if err := d.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited < testDelay {
			t.Errorf("CloseWrite returned after %v, before the writes could arrive", waited)
		}
		got, _ := under.arrivals()
		if len(got) != 3 || under.closeWrite != 1 {
			t.Fatalf("after CloseWrite: %d writes arrived, write side closed %d times; want 3 and 1", len(got), under.closeWrite)
		}
		if _, err := d.Write([]byte{9}); !errors.Is(err, network.ErrReset) {
			t.Errorf("write after CloseWrite: %v, want ErrReset", err)
		}
		if err := d.Close(); err != nil || under.closeWrite != 2 {
			t.Errorf("Close after CloseWrite: %v, underlying closes %d (the delay stream closes its write side once, then Close passes through)", err, under.closeWrite)
		}
	})
}

func TestDelayStreamResetDropsQueueAndFreesWriters(t *testing.T) {
	labTest(t, func() {
		under := &recordingStream{}
		d := newDelayStream(under, time.Hour)
		for i := range delayQueue {
			_, _ = d.Write([]byte{byte(i)})
		}
		blocked := make(chan error)
		go func() {
			_, err := d.Write([]byte{1}) // beyond the queue: waits
			blocked <- err
		}()
		time.Sleep(time.Millisecond)
		select {
		case err := <-blocked:
			t.Fatalf("a write beyond %d in flight returned at once (%v)", delayQueue, err)
		default:
		}
		closed := make(chan struct{})
		go func() { _ = d.CloseWrite(); close(closed) }()
		time.Sleep(time.Millisecond)
		if err := d.Reset(); err != nil {
			t.Fatal(err)
		}
		if err := <-blocked; !errors.Is(err, network.ErrReset) {
			t.Errorf("blocked write after Reset: %v, want ErrReset", err)
		}
		<-closed
		time.Sleep(2 * time.Hour)
		if got, _ := under.arrivals(); len(got) != 0 {
			t.Errorf("%d writes arrived after Reset, want none", len(got))
		}
		if under.resets != 1 || under.closeWrite != 0 {
			t.Errorf("underlying: %d resets, %d write closes; want 1 and 0", under.resets, under.closeWrite)
		}
	})
}

func TestDelayStreamWriteFailsOnceTheLinkBroke(t *testing.T) {
	labTest(t, func() {
		under := &recordingStream{fail: errors.New("link down")}
		d := newDelayStream(under, testDelay)
		if _, err := d.Write([]byte{1}); err != nil {
			t.Fatalf("the first write is queued, so it succeeds: %v", err)
		}
		time.Sleep(2 * testDelay)
		if _, err := d.Write([]byte{2}); !errors.Is(err, network.ErrReset) {
			t.Errorf("write after the link failed: %v, want ErrReset", err)
		}
		if err := d.CloseWrite(); err != nil {
			t.Errorf("CloseWrite on a broken stream: %v", err)
		}
	})
}

// TestDelayStreamIdleCostsNoGoroutine: at full scale a run holds over a
// million streams, most of which never write.
func TestDelayStreamIdleCostsNoGoroutine(t *testing.T) {
	labTest(t, func() {
		before := runtime.NumGoroutine()
		streams := make([]*delayStream, 1000)
		for i := range streams {
			streams[i] = newDelayStream(&recordingStream{}, testDelay)
		}
		if after := runtime.NumGoroutine(); after != before {
			t.Errorf("1,000 idle delay streams added %d goroutines, want 0", after-before)
		}
		_, _ = streams[0].Write([]byte{1})
		time.Sleep(2 * testDelay)
		if after := runtime.NumGoroutine(); after != before {
			t.Errorf("a stream that has delivered everything keeps %d goroutines, want 0", after-before)
		}
	})
}
