#!/usr/bin/env python3
"""docker-py 7.1, unchanged, against berthd.

Run with DOCKER_HOST=unix:///path/to/berth.sock (the integration test ClientScriptsTests does). Every name this
script creates starts with a per-run prefix, and each test removes what it made even when it fails. Needs only the
busybox image. Plain unittest: the machine has no pytest and PyPI is out of reach.
"""
import io
import os
import socket
import tarfile
import tempfile
import time
import unittest
import uuid
from datetime import datetime, timedelta, timezone

import docker
from docker import errors

IMAGE = "busybox:latest"
PREFIX = "bpy-" + uuid.uuid4().hex[:8]
TIMEOUT = 60  # seconds, for every API call: nothing may hang


def name(purpose):
    return f"{PREFIX}-{purpose}-{uuid.uuid4().hex[:6]}"


def settled(command):
    """An exec command that waits a moment before it runs. docker-py reads an exec's output from the raw socket, past
    http.client's buffer, so output that arrives together with the 101 headers is lost (docker/docker-py#3332; it
    happens against Docker too, on a loaded machine). The pause keeps the output apart from the headers."""
    return ["sh", "-c", 'sleep 0.3; exec "$@"', "sh", *command]


class BerthTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = docker.from_env(timeout=TIMEOUT)
        cls.api = cls.client.api

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def undo(self, action):
        """Runs the action at the end of the test, pass or fail; what is already gone is fine."""
        def quietly():
            try:
                action()
            except (errors.NotFound, errors.APIError):
                pass
        self.addCleanup(quietly)

    def container(self, command, **kwargs):
        """Runs a detached busybox container and removes it (forcefully) at the end of the test."""
        kwargs.setdefault("name", name("c"))
        c = self.client.containers.run(IMAGE, command, detach=True, **kwargs)
        self.undo(lambda: c.remove(force=True, v=True))
        return c

    def wait_for(self, condition, what, seconds=20):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.1)
        self.fail(f"timed out waiting for {what}")


class ContainerTests(BerthTestCase):
    def test_run_detached_logs_and_wait_report_output_and_exit_code(self):
        c = self.container(["sh", "-c", "echo out; echo err >&2; exit 3"])
        result = c.wait(timeout=TIMEOUT)
        self.assertEqual(3, result["StatusCode"])
        # stdout and stderr are two pipes: their relative order is not defined (nor is it with Docker).
        self.assertEqual([b"err", b"out"], sorted(c.logs().splitlines()))
        self.assertEqual(b"out\n", c.logs(stdout=True, stderr=False))
        self.assertEqual(b"err\n", c.logs(stdout=False, stderr=True))
        c.reload()
        self.assertEqual("exited", c.status)
        self.assertEqual(3, c.attrs["State"]["ExitCode"])

    def test_run_without_detach_returns_output_and_raises_container_error_on_failure(self):
        out = self.client.containers.run(IMAGE, ["echo", "hello from docker-py"], remove=True)
        self.assertEqual(b"hello from docker-py\n", out)
        with self.assertRaises(errors.ContainerError) as raised:
            self.client.containers.run(IMAGE, ["sh", "-c", "exit 7"], remove=True)
        self.assertEqual(7, raised.exception.exit_status)

    def test_logs_stream_follow_yields_lines_as_they_are_written_and_ends_with_the_container(self):
        c = self.container(["sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.2; done"])
        chunks = list(c.logs(stream=True, follow=True))
        self.assertEqual(b"line1\nline2\nline3\n", b"".join(chunks))
        self.assertEqual(0, c.wait(timeout=TIMEOUT)["StatusCode"])

    def test_logs_with_timestamps_and_tail(self):
        c = self.container(["sh", "-c", "echo a; echo b; echo c"])
        c.wait(timeout=TIMEOUT)
        self.assertEqual(b"c\n", c.logs(tail=1))
        stamped = c.logs(timestamps=True).decode().splitlines()
        self.assertEqual(3, len(stamped))
        self.assertTrue(stamped[0].endswith(" a"), stamped)
        datetime.fromisoformat(stamped[0].split(" ")[0][:26])  # RFC 3339 with nanoseconds, cut to microseconds

    def test_attach_socket_sends_stdin_and_receives_stdout(self):
        c = self.client.containers.create(IMAGE, ["cat"], stdin_open=True, name=name("attach"))
        self.undo(lambda: c.remove(force=True))
        sock = c.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
        raw = sock._sock
        raw.settimeout(TIMEOUT)
        c.start()
        raw.sendall(b"ping over attach\n")
        received = b""
        while b"ping over attach\n" not in received:
            data = raw.recv(4096)
            if not data:
                break
            received += data
        # Without a TTY the stream is multiplexed: an 8-byte header (stream 1 = stdout) before the payload.
        self.assertEqual(1, received[0], received)
        self.assertIn(b"ping over attach\n", received)
        raw.shutdown(socket.SHUT_WR)  # closes stdin: cat ends
        sock.close()
        self.assertEqual(0, c.wait(timeout=TIMEOUT)["StatusCode"])

    def test_put_and_get_archive_round_trip_a_file(self):
        c = self.container(["sleep", "300"])
        payload = io.BytesIO()
        with tarfile.open(fileobj=payload, mode="w") as tar:
            data = b"archived by docker-py\n"
            info = tarfile.TarInfo("hello.txt")
            info.size = len(data)
            info.mode = 0o640
            tar.addfile(info, io.BytesIO(data))
        self.assertTrue(c.put_archive("/tmp", payload.getvalue()))
        self.assertEqual(b"archived by docker-py\n", c.exec_run(settled(["cat", "/tmp/hello.txt"])).output)

        stream, stat = c.get_archive("/tmp/hello.txt")
        self.assertEqual("hello.txt", stat["name"])
        self.assertEqual(len(b"archived by docker-py\n"), stat["size"])
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.getmember("hello.txt")
            self.assertEqual(0o640, member.mode & 0o777)
            self.assertEqual(b"archived by docker-py\n", tar.extractfile(member).read())

        with self.assertRaises(errors.NotFound):
            c.get_archive("/no/such/path")

    def test_stats_one_shot_and_top(self):
        c = self.container(["sleep", "300"])
        stats = c.stats(stream=False)
        self.assertIn("memory_stats", stats)
        self.assertIn("cpu_stats", stats)
        self.assertEqual("/" + c.name, stats["name"])
        top = c.top()
        self.assertIn("PID", top["Titles"])
        commands = [" ".join(p) for p in top["Processes"]]
        self.assertTrue(any("sleep 300" in p for p in commands), commands)
        streamed = c.stats(stream=True, decode=True)
        first = next(streamed)
        self.assertIn("read", first)
        streamed.close()

    def test_rename_pause_unpause_restart_kill_and_remove(self):
        c = self.container(["sleep", "300"])
        new_name = name("renamed")
        c.rename(new_name)
        c.reload()
        self.assertEqual(new_name, c.name)
        self.assertEqual(c.id, self.client.containers.get(new_name).id)

        c.pause()
        c.reload()
        self.assertEqual("paused", c.status)
        c.unpause()
        c.reload()
        self.assertEqual("running", c.status)

        pid_before = c.attrs["State"]["Pid"]
        c.restart(timeout=1)
        c.reload()
        self.assertEqual("running", c.status)
        self.assertNotEqual(pid_before, c.attrs["State"]["Pid"])

        c.kill(signal="SIGKILL")
        self.assertEqual(137, c.wait(timeout=TIMEOUT)["StatusCode"])
        c.reload()
        self.assertEqual("exited", c.status)

        c.remove()
        with self.assertRaises(errors.NotFound):
            self.client.containers.get(c.id)

    def test_list_filters_by_label_and_status(self):
        label = {"bpy.test": PREFIX}
        running = self.container(["sleep", "300"], labels=label)
        exited = self.container(["true"], labels=label)
        exited.wait(timeout=TIMEOUT)
        everything = self.client.containers.list(all=True, filters={"label": f"bpy.test={PREFIX}"})
        self.assertEqual({running.id, exited.id}, {c.id for c in everything})
        only_running = self.client.containers.list(filters={"label": f"bpy.test={PREFIX}"})
        self.assertEqual([running.id], [c.id for c in only_running])
        only_exited = self.client.containers.list(all=True, filters={"label": f"bpy.test={PREFIX}", "status": "exited"})
        self.assertEqual([exited.id], [c.id for c in only_exited])

    def test_environment_working_dir_and_user_reach_the_process(self):
        out = self.client.containers.run(
            IMAGE, ["sh", "-c", "echo $GREETING; pwd; id -u"], environment={"GREETING": "hi"},
            working_dir="/tmp", user="1234", remove=True)
        self.assertEqual(b"hi\n/tmp\n1234\n", out)


class ExecTests(BerthTestCase):
    def test_exec_run_returns_exit_code_and_output(self):
        c = self.container(["sleep", "300"])
        result = c.exec_run(settled(["sh", "-c", "echo out; echo err >&2; exit 5"]))
        self.assertEqual(5, result.exit_code)
        self.assertEqual([b"err", b"out"], sorted(result.output.splitlines()))  # two pipes: no defined order

    def test_exec_run_demux_separates_stdout_and_stderr(self):
        c = self.container(["sleep", "300"])
        result = c.exec_run(settled(["sh", "-c", "echo out; echo err >&2"]), demux=True)
        self.assertEqual(0, result.exit_code)
        self.assertEqual((b"out\n", b"err\n"), result.output)

    def test_exec_run_with_tty_gets_a_terminal(self):
        c = self.container(["sleep", "300"])
        result = c.exec_run(settled(["sh", "-c", "test -t 1 && echo tty"]), tty=True)
        self.assertEqual(0, result.exit_code)
        self.assertEqual(b"tty\r\n", result.output)
        without = c.exec_run(settled(["sh", "-c", "test -t 1 || echo no tty"]))
        self.assertEqual(b"no tty\n", without.output)

    def test_exec_run_stream_yields_output_as_it_comes(self):
        c = self.container(["sleep", "300"])
        result = c.exec_run(settled(["sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.1; done"]), stream=True)
        self.assertIsNone(result.exit_code)
        self.assertEqual(b"1\n2\n3\n", b"".join(result.output))

    def test_exec_environment_workdir_and_inspect(self):
        c = self.container(["sleep", "300"])
        result = c.exec_run(settled(["sh", "-c", "echo $X; pwd"]), environment={"X": "from exec"}, workdir="/etc")
        self.assertEqual(b"from exec\n/etc\n", result.output)
        exec_id = self.api.exec_create(c.id, ["sh", "-c", "exit 4"])["Id"]
        self.api.exec_start(exec_id)
        inspected = self.api.exec_inspect(exec_id)
        self.assertEqual(4, inspected["ExitCode"])
        self.assertFalse(inspected["Running"])
        self.assertEqual(c.id, inspected["ContainerID"])

    def test_exec_in_a_stopped_container_is_a_conflict(self):
        c = self.container(["true"])
        c.wait(timeout=TIMEOUT)
        with self.assertRaises(errors.APIError) as raised:
            c.exec_run(["true"])
        self.assertEqual(409, raised.exception.status_code)


class ImageTests(BerthTestCase):
    def tag(self, purpose):
        repo = f"{PREFIX}-{purpose}"
        self.undo(lambda: self.client.images.remove(repo + ":t1", force=True))
        return repo

    def test_list_get_tag_history_and_remove(self):
        busybox = self.client.images.get(IMAGE)
        self.assertIn(IMAGE, busybox.tags)
        self.assertTrue(busybox.id.startswith("sha256:"))
        # The low-level list: the model's list inspects each image it listed, so an image another test removes in
        # between (the daemon is shared) makes it raise ImageNotFound (CI once).
        self.assertIn(busybox.id, [i["Id"] for i in self.api.images()])
        self.assertEqual([busybox.id], [i.id for i in self.client.images.list(name="busybox")])

        repo = self.tag("tagged")
        self.assertTrue(busybox.tag(repo, "t1"))
        self.assertEqual(busybox.id, self.client.images.get(repo + ":t1").id)
        self.assertEqual(1, len(self.client.images.list(filters={"reference": repo + ":t1"})))

        history = busybox.history()
        self.assertGreaterEqual(len(history), 1)
        self.assertIn("CreatedBy", history[0])

        self.client.images.remove(repo + ":t1")
        with self.assertRaises(errors.ImageNotFound):
            self.client.images.get(repo + ":t1")

    def test_save_and_load_round_trip(self):
        busybox = self.client.images.get(IMAGE)
        repo = self.tag("saved")
        busybox.tag(repo, "t1")
        archive = b"".join(self.api.get_image(repo + ":t1"))  # the archive names the tag it was asked for
        self.client.images.remove(repo + ":t1")
        loaded = self.client.images.load(archive)
        self.assertEqual([busybox.id], [i.id for i in loaded])
        self.assertIn(repo + ":t1", self.client.images.get(repo + ":t1").tags)

    def test_build_from_a_dockerfile_fileobj(self):
        repo = self.tag("built")
        dockerfile = io.BytesIO(
            b"FROM busybox\nLABEL made.by=docker-py\nENV GREETING=built\nCMD [\"sh\", \"-c\", \"echo $GREETING\"]\n")
        image, logs = self.client.images.build(fileobj=dockerfile, tag=repo + ":t1", rm=True)
        self.assertIn(repo + ":t1", image.tags)
        self.assertEqual("docker-py", image.labels["made.by"])
        self.assertTrue(any("stream" in entry for entry in logs))
        self.assertEqual(b"built\n", self.client.containers.run(repo + ":t1", remove=True))

    def test_build_from_a_path_with_copy_and_run(self):
        repo = self.tag("ctx")
        with tempfile.TemporaryDirectory() as context:
            with open(os.path.join(context, "Dockerfile"), "w") as f:
                f.write("FROM busybox\nCOPY data.txt /data.txt\nRUN cat /data.txt > /copied.txt\nCMD [\"cat\", \"/copied.txt\"]\n")
            with open(os.path.join(context, "data.txt"), "w") as f:
                f.write("from the build context\n")
            image, _ = self.client.images.build(path=context, tag=repo + ":t1", rm=True)
        self.assertEqual(b"from the build context\n", self.client.containers.run(image.id, remove=True))

    def test_a_failing_build_raises_build_error(self):
        dockerfile = io.BytesIO(b"FROM busybox\nRUN exit 9\n")
        with self.assertRaises(errors.BuildError):
            self.client.images.build(fileobj=dockerfile, rm=True)


class NetworkTests(BerthTestCase):
    def network(self, **kwargs):
        n = self.client.networks.create(name("net"), driver="bridge", **kwargs)
        self.undo(n.remove)
        return n

    def test_create_connect_with_alias_resolve_by_name_disconnect_and_remove(self):
        net = self.network(labels={"bpy": PREFIX})
        self.assertEqual(PREFIX, self.client.networks.get(net.id).attrs["Labels"]["bpy"])
        self.assertIn(net.id, [n.id for n in self.client.networks.list(filters={"label": f"bpy={PREFIX}"})])

        server = self.container(["sleep", "300"], name=name("server"))
        net.connect(server, aliases=["db-alias"])
        client = self.container(["sleep", "300"], network=net.name)

        for target in (server.name, "db-alias"):
            result = client.exec_run(["ping", "-c", "1", "-W", "5", target])
            self.assertEqual(0, result.exit_code, result.output)

        net.reload()
        self.assertEqual({server.id, client.id}, {c.id for c in net.containers})
        server.reload()
        self.assertIn("db-alias", server.attrs["NetworkSettings"]["Networks"][net.name]["Aliases"])

        net.disconnect(server)
        net.reload()
        self.assertEqual([client.id], [c.id for c in net.containers])
        client.remove(force=True)
        net.remove()
        with self.assertRaises(errors.NotFound):
            self.client.networks.get(net.id)

    def test_container_run_with_network_and_aliases_in_networking_config(self):
        net = self.network()
        config = self.api.create_networking_config({net.name: self.api.create_endpoint_config(aliases=["svc"])})
        server = self.api.create_container(IMAGE, ["sleep", "300"], name=name("svc"), networking_config=config,
                                           host_config=self.api.create_host_config(network_mode=net.name))
        self.undo(lambda: self.api.remove_container(server["Id"], force=True))
        self.api.start(server["Id"])
        out = self.client.containers.run(IMAGE, ["ping", "-c", "1", "-W", "5", "svc"], network=net.name, remove=True)
        self.assertIn(b"1 packets received", out)


class VolumeTests(BerthTestCase):
    def test_create_list_inspect_mount_and_remove(self):
        vol = self.client.volumes.create(name("vol"), labels={"bpy": PREFIX})
        self.undo(lambda: vol.remove(force=True))
        self.assertEqual("local", vol.attrs["Driver"])
        self.assertIn(vol.name, [v.name for v in self.client.volumes.list(filters={"label": f"bpy={PREFIX}"})])

        self.client.containers.run(IMAGE, ["sh", "-c", "echo kept > /data/f"], volumes={vol.name: {"bind": "/data", "mode": "rw"}}, remove=True)
        out = self.client.containers.run(IMAGE, ["cat", "/data/f"], volumes=[f"{vol.name}:/data:ro"], remove=True)
        self.assertEqual(b"kept\n", out)

        vol.remove()
        with self.assertRaises(errors.NotFound):
            self.client.volumes.get(vol.name)

    def test_removing_a_volume_in_use_is_a_conflict(self):
        vol = self.client.volumes.create(name("busy"))
        self.undo(lambda: vol.remove(force=True))
        self.container(["sleep", "300"], volumes={vol.name: {"bind": "/data", "mode": "rw"}})
        with self.assertRaises(errors.APIError) as raised:
            vol.remove()
        self.assertEqual(409, raised.exception.status_code)


class EventTests(BerthTestCase):
    def test_events_decoded_filtered_and_bounded_by_since_and_until(self):
        since = datetime.now(timezone.utc) - timedelta(seconds=1)
        c = self.container(["true"], labels={"bpy.events": PREFIX})
        c.wait(timeout=TIMEOUT)
        until = datetime.now(timezone.utc) + timedelta(seconds=1)
        events = list(self.client.events(since=since, until=until, decode=True,
                                         filters={"type": "container", "label": f"bpy.events={PREFIX}"}))
        actions = [e["Action"] for e in events]
        for expected in ("create", "start", "die"):
            self.assertIn(expected, actions)
        self.assertTrue(all(e["Type"] == "container" and e["Actor"]["ID"] == c.id for e in events), events)
        self.assertEqual(c.name, events[0]["Actor"]["Attributes"]["name"])

    def test_a_live_event_stream_sees_a_new_container(self):
        stream = self.client.events(decode=True, filters={"type": "container", "event": "create"})
        try:
            c = self.container(["true"], labels={"bpy.live": PREFIX})
            for event in stream:
                if event["Actor"]["ID"] == c.id:
                    self.assertEqual("create", event["Action"])
                    break
        finally:
            stream.close()


class SystemTests(BerthTestCase):
    def test_ping_version_info_and_df(self):
        self.assertTrue(self.client.ping())
        version = self.client.version()
        self.assertIn("ApiVersion", version)
        self.assertEqual("linux", version["Os"])
        info = self.client.info()
        self.assertIn("Containers", info)
        self.assertIn("NCPU", info)
        df = self.client.df()
        for key in ("Images", "Containers", "Volumes", "LayersSize"):
            self.assertIn(key, df)

    def test_a_client_pinned_to_an_old_api_version_works(self):
        old = docker.DockerClient(base_url=os.environ["DOCKER_HOST"], version="1.24", timeout=TIMEOUT)
        try:
            self.assertEqual(b"old api\n", old.containers.run(IMAGE, ["echo", "old api"], remove=True))
        finally:
            old.close()


class ErrorTests(BerthTestCase):
    def test_missing_things_raise_not_found(self):
        missing = PREFIX + "-missing"
        with self.assertRaises(errors.NotFound):
            self.client.containers.get(missing)
        with self.assertRaises(errors.ImageNotFound):
            self.client.images.get(missing + ":nope")
        with self.assertRaises(errors.NotFound):
            self.client.networks.get(missing)
        with self.assertRaises(errors.NotFound):
            self.client.volumes.get(missing)
        with self.assertRaises(errors.NotFound):
            self.api.exec_inspect(missing)

    def test_errors_carry_dockers_messages_and_status(self):
        with self.assertRaises(errors.NotFound) as raised:
            self.client.containers.get(PREFIX + "-missing")
        self.assertEqual(404, raised.exception.status_code)
        self.assertIn("No such container", raised.exception.explanation)
        c = self.container(["sleep", "300"])
        with self.assertRaises(errors.APIError) as conflict:
            c.remove()
        self.assertEqual(409, conflict.exception.status_code)
        with self.assertRaises(errors.APIError) as taken:
            self.client.containers.create(IMAGE, ["true"], name=c.name)
        self.assertEqual(409, taken.exception.status_code)


if __name__ == "__main__":
    if "DOCKER_HOST" not in os.environ:
        raise SystemExit("set DOCKER_HOST to berthd's socket, e.g. unix:///run/berth/berth.sock")
    unittest.main(verbosity=2)
