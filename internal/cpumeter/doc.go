// Package cpumeter measures the process's own CPU use, for the workers'
// heartbeats and the generator's self-watch (one implementation for both).
package cpumeter
