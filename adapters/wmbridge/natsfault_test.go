package wmbridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// privateNATS is a nats-server with JetStream that a test starts on a
// free port with its own store directory, and may stop and start again.
type privateNATS struct {
	t    *testing.T
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
}

func startPrivateNATS(t *testing.T) *privateNATS {
	t.Helper()
	natsURL(t) // gated like every NATS test
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/nats-server"); err != nil {
			t.Fatalf("nats-server is needed for the NATS fault test: %v", err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	n := &privateNATS{t: t, bin: bin, port: port, dir: t.TempDir()}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *privateNATS) url() string { return "nats://127.0.0.1:" + strconv.Itoa(n.port) }

func (n *privateNATS) start() {
	n.t.Helper()
	n.cmd = exec.Command(n.bin, "-a", "127.0.0.1", "-p", strconv.Itoa(n.port), "-js", "-sd", n.dir, "-l", filepath.Join(n.dir, "nats.log"))
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(n.port))
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("private nats-server did not listen: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the server at once, as a crash or a network cut would.
func (n *privateNATS) stop() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	n.cmd.Process.Signal(os.Kill)
	n.cmd.Wait()
	n.cmd = nil
}

// TestRelayRidesThroughNATSOutage (issue 10, "NATS goes away"): the relay
// publishes, the broker dies while events keep being appended, the relay
// fails and waits without skipping, and once the broker is back it
// resumes from its checkpoint: the JetStream consumer receives every
// integration event once, in order, with no gap, and a re-send of events
// already published (a crash before the checkpoint was saved) is dropped
// by JetStream's deduplication on the event ID.
func TestRelayRidesThroughNATSOutage(t *testing.T) {
	srv := startPrivateNATS(t)
	const subject = "kinerja-outage"
	// Connected as kinerjad connects (never give up reconnecting), but
	// trying more often.
	s, relay, cps := newRelay(t, srv.url(), subject, nats.ReconnectWait(50*time.Millisecond))
	var want []eventstore.Position
	appendIntegration := func(n int) eventstore.Position {
		var last eventstore.Position
		for i := range n {
			res, err := s.Append(context.Background(), fmt.Sprintf("skp-%d", len(want)%7), eventstore.Any, eventstore.EventData{
				ID: uuid.New(), Type: "skp.evaluation_issued.v1", SchemaVersion: 1, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "t"},
				Data: []byte(`{"i":` + strconv.Itoa(i) + `}`),
			})
			if err != nil {
				t.Fatal(err)
			}
			appendEv(t, s, "skp-noise", "") // not an integration event
			want, last = append(want, res.Position), res.Position
		}
		return last
	}
	p, stop := runProjector(t, wmbridge.ProjectorConfig{Store: s, Relays: []projections.Sink{relay}, RetryInterval: 20 * time.Millisecond})
	waitFor(t, p, appendIntegration(20))

	// The broker goes away; appends go on.
	srv.stop()
	beforeOutage, _ := p.Checkpoint("nats")
	last := appendIntegration(30)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(p.Stalled()) == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("the relay never reported itself failing while NATS was down")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if cp, _ := p.Checkpoint("nats"); cp != beforeOutage {
		t.Fatalf("the relay moved its checkpoint from %d to %d while NATS was down", beforeOutage, cp)
	}
	if h := p.Group().Health(ctx, time.Hour)[0]; h.Condition != projections.Failing || !h.Relay {
		t.Errorf("relay health during the outage = %+v, want failing", h)
	}

	// It comes back: the relay resumes from its checkpoint.
	srv.start()
	waitFor(t, p, last)
	if cp, err := cps.Load(context.Background(), "nats"); err != nil || cp != last {
		t.Fatalf("relay checkpoint = %d, %v; want %d", cp, err, last)
	}
	stop()
	// A crash after publishing, before the checkpoint was saved: the next
	// run re-sends everything after the older checkpoint.
	if err := cps.Save(context.Background(), "nats", beforeOutage); err != nil {
		t.Fatal(err)
	}
	p, stop = runProjector(t, wmbridge.ProjectorConfig{Store: s, Relays: []projections.Sink{relay}})
	waitFor(t, p, last)
	stop()

	// A JetStream consumer sees every integration event once, in order.
	sub, err := jetStream(t, srv.url()).SubscribeSync(subject, nats.DeliverAll(), nats.AckNone())
	if err != nil {
		t.Fatal(err)
	}
	var got []eventstore.Position
	for {
		m, err := sub.NextMsg(2 * time.Second)
		if err != nil {
			break
		}
		var ie wmbridge.IntegrationEvent
		if err := json.Unmarshal(m.Data, &ie); err != nil {
			t.Fatal(err)
		}
		got = append(got, eventstore.Position(ie.Position))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the consumer received positions %v,\nwant %v (each integration event once, in order)", got, want)
	}
}
