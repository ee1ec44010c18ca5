package option_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/internal/errprefix"
	"github.com/peerscore/peerscore/internal/option"
)

type config struct{ applied []string }

type opt func(*config) error

func set(name string) opt {
	return func(c *config) error { c.applied = append(c.applied, name); return nil }
}

func fail(err error) opt { return func(*config) error { return err } }

func TestApply(t *testing.T) {
	var c config
	require.NoError(t, option.Apply("p", &c, []opt{set("a"), nil, set("b")}))
	require.Equal(t, []string{"a", "b"}, c.applied, "in order, nil skipped")

	c = config{}
	err := option.Apply("p/sub", &c, []opt{set("a"), fail(errors.New("WithX: bad")), set("c")})
	require.EqualError(t, err, "p/sub: WithX: bad")
	require.Equal(t, []string{"a"}, c.applied, "stops at the first error")

	own := errors.New("p/sub: WithY: bad")
	err = option.Apply("p/sub", &c, []opt{fail(errprefix.Mark("p/sub", own))})
	require.EqualError(t, err, "p/sub: WithY: bad", "marked: prefixed once")
	require.ErrorIs(t, err, own)

	// A sub-package's error is never judged by its text.
	err = option.Apply("p/sub", &c, []opt{fail(own)})
	require.EqualError(t, err, "p/sub: p/sub: WithY: bad")
}

func TestCheck(t *testing.T) {
	var c config
	require.NoError(t, option.Check(true, "WithA: bad", func(c *config) { c.applied = append(c.applied, "a") })(&c))
	require.Equal(t, []string{"a"}, c.applied)
	err := option.Check(false, "WithB: bad", func(c *config) { c.applied = append(c.applied, "b") })(&c)
	require.EqualError(t, err, "WithB: bad")
	require.Equal(t, []string{"a"}, c.applied, "not applied")
}

func TestPositive(t *testing.T) {
	var got time.Duration
	set := func(d time.Duration) func(*config) error {
		return option.Positive("WithD", d, func(*config) { got = d })
	}
	require.NoError(t, set(time.Second)(&config{}))
	require.Equal(t, time.Second, got)
	require.EqualError(t, set(0)(&config{}), "WithD: 0s is not positive")
	require.EqualError(t, set(-time.Minute)(&config{}), "WithD: -1m0s is not positive")
	require.Equal(t, time.Second, got, "not applied")

	require.EqualError(t, option.Positive("WithN", -3, func(*config) {})(&config{}), "WithN: -3 is not positive")
	require.EqualError(t, option.Positive("WithF", math.NaN(), func(*config) {})(&config{}), "WithF: NaN is not positive")
}
