package scorehttp

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/peerscore/peerscore/ban"
)

// DefaultMaxPeers is how many entries GET /scores and GET /bans return at
// most unless WithMaxPeers says otherwise.
const DefaultMaxPeers = 1000

// Option configures a Handler in NewHandler.
type Option func(*config) error

type config struct {
	gater    *ban.Gater
	logger   *slog.Logger
	maxPeers int
}

func defaultConfig() config {
	return config{logger: slog.Default(), maxPeers: DefaultMaxPeers}
}

// WithGater serves GET /bans, the bans in force in g (the ban.Gater the
// host was built with, in which a ban.Monitor bans peers), and adds each
// peer's ban to GET /peers/{id}. Without it GET /bans answers 404.
func WithGater(g *ban.Gater) Option {
	return func(c *config) error {
		if g == nil {
			return errors.New("WithGater: nil gater")
		}
		c.gater = g
		return nil
	}
}

// WithLogger sets where the Handler logs: at Error, a response that could
// not be encoded (which would be a bug); at Debug, a response the client
// did not take (it went away). The default is slog.Default(), the logger
// the application chose as its default.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithMaxPeers is the hard cap on the entries of GET /scores and GET
// /bans: their limit query parameter can ask for fewer, never for more, so
// that a response stays within about n × 200 bytes however many peers the
// scorer knows. n must be positive. The default is DefaultMaxPeers.
func WithMaxPeers(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("WithMaxPeers: %d is not positive", n)
		}
		c.maxPeers = n
		return nil
	}
}
