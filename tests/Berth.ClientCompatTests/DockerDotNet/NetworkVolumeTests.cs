using Berth.ClientCompatTests.Infrastructure;
using Berth.IntegrationTests.Infrastructure;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Berth.ClientCompatTests.DockerDotNet;

/// <summary>Docker.DotNet.Enhanced on networks (create, connect, inspect, disconnect, remove) and volumes (create, list, use, remove).</summary>
public sealed class NetworkVolumeTests(DaemonFixture fixture) : DockerClientTest(fixture)
{
    [Fact]
    public async Task A_container_connected_to_a_new_network_shows_in_both_inspects()
    {
        string network = Names.Unique("dn-net");
        string? networkId = null;
        string id = await Client.CreateBusyboxAsync(Names.Unique("dn-netc"), tty: false, "sleep", "300");
        try
        {
            using CancellationTokenSource cts = DockerClients.Bound();
            // As the client sends it by default: empty Driver and Scope, no options.
            NetworksCreateResponse created = await Client.Networks.CreateNetworkAsync(
                new NetworksCreateParameters { Name = network, Labels = new Dictionary<string, string> { ["org.berth.test"] = "net" } }, cts.Token);
            networkId = created.ID;
            Assert.False(string.IsNullOrEmpty(networkId));
            Assert.True(await Client.Containers.StartContainerAsync(id, new ContainerStartParameters(), cts.Token));

            await Client.Networks.ConnectNetworkAsync(network, new NetworkConnectParameters { Container = id }, cts.Token);

            NetworkResponse inspect = await Client.Networks.InspectNetworkAsync(network, cts.Token);
            Assert.Equal(network, inspect.Name);
            Assert.Equal(networkId, inspect.ID);
            Assert.Equal("bridge", inspect.Driver);
            Assert.Equal("local", inspect.Scope);
            Assert.Equal("net", inspect.Labels["org.berth.test"]);
            EndpointResource endpoint = inspect.Containers[id];
            Assert.Matches(@"^\d+\.\d+\.\d+\.\d+/\d+$", endpoint.IPv4Address);

            ContainerInspectResponse container = await Client.Containers.InspectContainerAsync(id, cts.Token);
            EndpointSettings settings = container.NetworkSettings!.Networks![network];
            Assert.Equal(endpoint.IPv4Address.Split('/')[0], settings.IPAddress);
            Assert.Equal(networkId, settings.NetworkID);
            Assert.Contains("bridge", container.NetworkSettings.Networks.Keys);

            IList<NetworkResponse> listed = await Client.Networks.ListNetworksAsync(new NetworksListParameters(), cts.Token);
            Assert.Contains(listed, n => n.ID == networkId);

            await Client.Networks.DisconnectNetworkAsync(network, new NetworkDisconnectParameters { Container = id }, cts.Token);
            Assert.Empty((await Client.Networks.InspectNetworkAsync(network, cts.Token)).Containers ?? new Dictionary<string, EndpointResource>());
            await Client.Networks.DeleteNetworkAsync(network, cts.Token);
            networkId = null;
            await Assert.ThrowsAsync<DockerNetworkNotFoundException>(() => Client.Networks.InspectNetworkAsync(network, cts.Token));
        }
        finally
        {
            await Client.RemoveContainerQuietlyAsync(id);
            if (networkId is not null)
            {
                try
                {
                    await Client.Networks.DeleteNetworkAsync(networkId);
                }
                catch (DockerApiException)
                {
                }
            }
        }
    }

    [Fact]
    public async Task A_created_volume_is_listed_keeps_what_a_container_writes_and_is_removed()
    {
        string volume = Names.Unique("dn-vol");
        string? containerId = null;
        try
        {
            using CancellationTokenSource cts = DockerClients.Bound();
            VolumeResponse created = await Client.Volumes.CreateAsync(
                new VolumesCreateParameters { Name = volume, Labels = new Dictionary<string, string> { ["org.berth.test"] = "vol" } }, cts.Token);
            Assert.Equal(volume, created.Name);
            Assert.Equal("local", created.Driver);
            Assert.True(Directory.Exists(created.Mountpoint), created.Mountpoint);

            VolumesListResponse list = await Client.Volumes.ListAsync(new VolumesListParameters(), cts.Token);
            Assert.Contains(list.Volumes, v => v.Name == volume && v.Labels["org.berth.test"] == "vol");

            containerId = (await Client.Containers.CreateContainerAsync(new CreateContainerParameters
            {
                Image = "busybox",
                Cmd = ["sh", "-c", "echo kept > /data/file"],
                HostConfig = new HostConfig { Binds = [volume + ":/data"] },
            }, cts.Token)).ID;
            Assert.True(await Client.Containers.StartContainerAsync(containerId, new ContainerStartParameters(), cts.Token));
            Assert.Equal(0, (await Client.Containers.WaitContainerAsync(containerId, cts.Token)).StatusCode);
            Assert.Equal("kept\n", await File.ReadAllTextAsync(Path.Combine(created.Mountpoint, "file"), cts.Token));

            // In use: removing it is a conflict.
            DockerApiException inUse = await Assert.ThrowsAsync<DockerApiException>(() => Client.Volumes.RemoveAsync(volume, cancellationToken: cts.Token));
            Assert.Equal(System.Net.HttpStatusCode.Conflict, inUse.StatusCode);

            await Client.Containers.RemoveContainerAsync(containerId, new ContainerRemoveParameters(), cts.Token);
            containerId = null;
            await Client.Volumes.RemoveAsync(volume, cancellationToken: cts.Token);
            Assert.DoesNotContain((await Client.Volumes.ListAsync(cts.Token)).Volumes ?? [], v => v.Name == volume);
        }
        finally
        {
            if (containerId is not null)
            {
                await Client.RemoveContainerQuietlyAsync(containerId);
            }

            try
            {
                await Client.Volumes.RemoveAsync(volume, force: true);
            }
            catch (DockerApiException)
            {
            }
        }
    }
}
