namespace FaceBridge.Transport
{
    public static class Transports
    {
        /// <summary>NetMQ when the scripting define FACEBRIDGE_NETMQ is set (and NetMQ is in the
        /// project), else libzmq through P/Invoke.</summary>
        public static ITransport CreateDefault()
        {
#if FACEBRIDGE_NETMQ
            return new NetMqTransport();
#else
            return new LibZmqTransport();
#endif
        }
    }
}
