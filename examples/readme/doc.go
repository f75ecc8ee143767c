// Command readme is the scenario README.md opens with, kept byte for byte
// equal to the README's first Go block by TestREADMEScenarioIsThisProgram,
// and run against a local demo target by TestREADMEScenarioRuns, so the
// README's code is code that compiles and works.
//
//	go run ./examples/readme --headless -H http://127.0.0.1:8080 -u 10 -r 5 -t 30s
package main
