// Package bounds holds the accepted ranges of the numbers golocust reads
// from people (the command line, LOCUST_* variables, the web form, code
// that fills locust.Config, load shapes), so that every entry point accepts
// the same values and names the same range in its error, and no arithmetic
// on an accepted value overflows later.
package bounds
