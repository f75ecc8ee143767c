//go:build !race

package user

// raceEnabled: built with -race (see rawIO).
const raceEnabled = false
