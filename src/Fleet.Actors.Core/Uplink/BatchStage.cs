using Akka.Streams;
using Akka.Streams.Stage;
using Fleet.Actors.Core.Wal;

namespace Fleet.Actors.Core.Uplink;

/// <summary>
/// Groups log entries into uplink batches bounded by records and bytes. When downstream is ready,
/// a batch goes out as soon as it holds <c>minRecords</c> records or its first entry has waited
/// <c>linger</c> (at once with zero linger); the very first batch of a stream goes out at once, so a
/// (re)connected vehicle shows up immediately. While publishes are in flight, batches keep growing up
/// to the limits. Entries are never split, dropped or reordered. The materialized
/// <see cref="BatchFlush"/> switches lingering off for good (shutdown: send everything now).
/// </summary>
internal sealed class BatchStage : GraphStageWithMaterializedValue<FlowShape<StoredEntry, IReadOnlyList<StoredEntry>>, BatchFlush>
{
    private readonly int _maxRecords;
    private readonly long _maxBytes;
    private readonly int _minRecords;
    private readonly TimeSpan _linger;

    public BatchStage(int maxRecords, long maxBytes, TimeSpan linger, int minRecords = int.MaxValue)
    {
        _maxRecords = maxRecords;
        _maxBytes = maxBytes;
        _linger = linger;
        _minRecords = Math.Max(1, minRecords);
        Shape = new FlowShape<StoredEntry, IReadOnlyList<StoredEntry>>(In, Out);
    }

    public Inlet<StoredEntry> In { get; } = new("batch.in");

    public Outlet<IReadOnlyList<StoredEntry>> Out { get; } = new("batch.out");

    public override FlowShape<StoredEntry, IReadOnlyList<StoredEntry>> Shape { get; }

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("uplink-batch");

    public override ILogicAndMaterializedValue<BatchFlush> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var flush = new BatchFlush();
        return new LogicAndMaterializedValue<BatchFlush>(new Logic(this, flush), flush);
    }

    private sealed class Logic : TimerGraphStageLogic, IInHandler, IOutHandler
    {
        private const string LingerTimer = "linger";
        private readonly BatchStage _stage;
        private readonly BatchFlush _flush;
        private bool _flushAll;
        private List<StoredEntry> _batch = new();
        private int _records;
        private long _bytes;
        private StoredEntry? _carry;
        private bool _lingerElapsed;
        private bool _emittedFirst;

        public Logic(BatchStage stage, BatchFlush flush) : base(stage.Shape)
        {
            _stage = stage;
            _flush = flush;
            SetHandler(stage.In, this);
            SetHandler(stage.Out, this);
        }

        private bool Full => _records >= _stage._maxRecords || _bytes >= _stage._maxBytes;

        private bool Ready => _batch.Count > 0
            && (Full || _carry is not null || _records >= _stage._minRecords || _lingerElapsed
                || _stage._linger <= TimeSpan.Zero || !_emittedFirst || _flushAll || IsClosed(_stage.In));

        public override void PreStart()
        {
            _flush.Attach(GetAsyncCallback(() =>
            {
                _flushAll = true;
                TryEmit();
            }));
            Pull(_stage.In);
        }

        public void OnPush()
        {
            var entry = Grab(_stage.In);
            if (_batch.Count > 0 && (_records + entry.Entry.Count > _stage._maxRecords || _bytes + entry.Entry.Bytes > _stage._maxBytes))
                _carry = entry;
            else
                Add(entry);
            TryEmit();
            PullIfRoom();
        }

        public void OnUpstreamFinish()
        {
            if (_batch.Count == 0 && _carry is null) CompleteStage();
            else TryEmit();
        }

        public void OnUpstreamFailure(Exception e) => FailStage(e);

        public void OnPull()
        {
            TryEmit();
            PullIfRoom();
        }

        public void OnDownstreamFinish(Exception cause) => CompleteStage();

        protected override void OnTimer(object timerKey)
        {
            _lingerElapsed = true;
            TryEmit();
        }

        private void Add(StoredEntry entry)
        {
            _batch.Add(entry);
            _records += entry.Entry.Count;
            _bytes += entry.Entry.Bytes;
            if (_batch.Count == 1 && _stage._linger > TimeSpan.Zero) ScheduleOnce(LingerTimer, _stage._linger);
        }

        private void TryEmit()
        {
            if (!Ready || !IsAvailable(_stage.Out)) return;
            var batch = _batch;
            _batch = new List<StoredEntry>();
            _records = 0;
            _bytes = 0;
            _lingerElapsed = false;
            _emittedFirst = true;
            CancelTimer(LingerTimer);
            Push(_stage.Out, batch);

            if (_carry is { } carried)
            {
                _carry = null;
                Add(carried);
            }
            if (IsClosed(_stage.In) && _batch.Count == 0) CompleteStage();
        }

        private void PullIfRoom()
        {
            if (_carry is null && !Full && !IsClosed(_stage.In) && !HasBeenPulled(_stage.In)) Pull(_stage.In);
        }
    }
}

/// <summary>Handle to a running <see cref="BatchStage"/>: stop lingering and send every batch at once from now on.</summary>
internal sealed class BatchFlush
{
    private Action? _callback;
    private bool _requested;

    /// <summary>Thread-safe; takes effect in the stage (or as soon as it starts).</summary>
    public void FlushNow()
    {
        Action? callback;
        lock (this)
        {
            _requested = true;
            callback = _callback;
        }
        callback?.Invoke();
    }

    internal void Attach(Action callback)
    {
        bool requested;
        lock (this)
        {
            _callback = callback;
            requested = _requested;
        }
        if (requested) callback();
    }
}
