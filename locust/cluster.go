package locust

// ClusterConfig configures distributed mode (--master, --worker).
type ClusterConfig struct {
	// Master runs this process as the master of a cluster.
	Master bool
	// Worker runs this process as a worker of the master at
	// MasterHost:MasterPort.
	Worker bool
}

func clusterFlags(c *Config) []flagDef {
	cl := &c.Cluster
	return []flagDef{
		{long: "master", group: "Distributed", usage: "run as the master of a cluster of workers", value: &boolValue{p: &cl.Master}, env: []string{"LOCUST_MODE_MASTER"}},
		{long: "worker", group: "Distributed", usage: "run as a worker of a master", value: &boolValue{p: &cl.Worker}, env: []string{"LOCUST_MODE_WORKER"}},
	}
}

func (cl *ClusterConfig) validate() []error {
	var errs []error
	if cl.Master || cl.Worker {
		errs = append(errs, errDistributedNotBuilt)
	}
	return errs
}

// errDistributedNotBuilt is returned until distributed mode is wired.
var errDistributedNotBuilt = usageErrorf("--master and --worker: distributed mode is not available in this build yet; run standalone")
