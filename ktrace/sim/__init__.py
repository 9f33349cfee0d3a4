"""An embedded Kubernetes API simulator: an in-memory object store with watch history,
EndpointSlice and workload controllers, and an aiohttp server that the official client and
kubectl use as a real cluster.

Entry points: `ktrace.sim.handle.Simulator` (tests, benchmarks), `ktrace.sim.cli.run` (`ktrace sim`),
`ktrace.sim.demo.demo_objects` (the demo cluster without a server), `ktrace.sim.synthetic.synthetic_objects`.
Modules: state (store, history, Status errors), complete (API-server defaults), cluster (writes and
controller loop), endpointslices (the EndpointSlice controller), ingress_controller (admission of
Ingresses), workloads and kubelet (pods from workloads), patch, query (selectors, paging, media
types), tables (kubectl columns), server (HTTP), handle (threaded driver), demo, synthetic, cli.

It reads raw objects itself and imports no analysis module (pyproject.toml's import contract):
the analysis is tested against it, so shared code would hide a bug on both sides.
"""
