"""The deploy test's stack file: the resolved `docker-compose config` of docker-compose.yml and
docker-compose.test.yml (read on stdin), with what host networking needs that an override cannot
say (written to stdout):

- published ports dropped (on the host's network a service listens on the host's ports itself,
  and Docker refuses port bindings there);
- a second worker service, the first one's copy with its own hostname: on the host's network
  `--scale` would give both containers the host's hostname.
"""

import copy
import sys

import yaml

WORKER, SECOND = "airflow-worker", "airflow-worker-2"


def host_stack(stack: dict) -> dict:
    services = stack["services"]
    for service in services.values():
        if service.get("network_mode") == "host":
            service.pop("ports", None)
    second = copy.deepcopy(services[WORKER])
    second["hostname"] = services[WORKER]["hostname"].replace("-1", "-2")
    second.pop("build", None)  # the same image
    services[SECOND] = second
    return stack


if __name__ == "__main__":
    yaml.safe_dump(host_stack(yaml.safe_load(sys.stdin)), sys.stdout, sort_keys=False)
