"""Canyu NLU components inside real Rasa: `train_nlu`, an `Agent`, model storage persist/load.

Uses the real bundled sentence models (all-MiniLM-L6-v2, and multilingual-e5-small for Chinese). One small bilingual project is trained once per module.
"""

from __future__ import annotations

import asyncio
import os
import textwrap
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np
import pytest

pytestmark = pytest.mark.timeout(600)

NLU = """
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hi
    - hello there
    - good morning
    - hey, anyone there?
    - hello, I have a question
    - 你好
    - 您好，在吗
    - 早上好
    - 哈喽
    - 有人吗
- intent: order_status
  examples: |
    - where is my order
    - has my parcel shipped yet
    - track my package please
    - when will my order arrive
    - what's the status of order M2026110501
    - 我的订单到哪了
    - 快递什么时候到
    - 帮我查一下物流
    - 订单还没发货吗
    - 包裹怎么还没到
- intent: ask_product
  examples: |
    - how big is the battery of the Millet 14 Pro
    - does the Band 9 have GPS
    - what colours does the phone come in
    - is the power bank allowed on a plane
    - how long do the Buds 5 last
    - 小米14 Pro 电池多大
    - 手环9 有没有GPS
    - 耳机续航多久
    - 充电宝能带上飞机吗
    - 这款手机有几种颜色
- intent: out_of_scope
  examples: |
    - what's the weather tomorrow
    - tell me a recipe for dumplings
    - who won the football match
    - can you do my homework
    - book me a flight to Paris
    - 明天天气怎么样
    - 帮我写作业
    - 股票会涨吗
    - 推荐一部电影
    - 今晚吃什么
"""

CONFIG = """
recipe: default.v1
language: en
assistant_id: canyu-test
pipeline:
  - name: WhitespaceTokenizer
  - name: bot.nlu.CanyuLanguage
  - name: bot.nlu.CanyuSentenceFeaturizer
    model_zh: multilingual-e5-small
  - name: bot.nlu.CanyuIntentClassifier
    embedding_weight_zh: 2.0
    threshold: auto
    fallback_intent: nlu_fallback
policies: []
"""

INTENTS = {"greet", "order_status", "ask_product", "out_of_scope"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    from rasa.model_training import train_nlu

    root = tmp_path_factory.mktemp("nlu-project")
    (root / "nlu.yml").write_text(textwrap.dedent(NLU), encoding="utf-8")
    (root / "config.yml").write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    previous = os.environ.get("RASA_MAX_CACHE_SIZE")
    os.environ["RASA_MAX_CACHE_SIZE"] = "0"  # train for real, never restore from Rasa's cache
    try:
        model = train_nlu(str(root / "config.yml"), str(root / "nlu.yml"), str(root / "models"), fixed_model_name="nlu")
    finally:
        if previous is None:
            os.environ.pop("RASA_MAX_CACHE_SIZE", None)
        else:
            os.environ["RASA_MAX_CACHE_SIZE"] = previous
    assert model and Path(model).is_file()
    return {"root": root, "model": model}


def _parse(agent: Any, texts: list) -> list:
    loop = asyncio.new_event_loop()
    try:
        return [loop.run_until_complete(agent.parse_message(t)) for t in texts]
    finally:
        loop.close()


@pytest.fixture(scope="module")
def agent(trained: Dict[str, Any]) -> Any:
    from rasa.core.agent import Agent

    return Agent.load(trained["model"])


def test_agent_classifies_both_languages_with_full_calibrated_ranking(agent: Any) -> None:
    en, zh = _parse(agent, ["where is my order??", "我的快递到哪了"])
    assert en["intent"]["name"] == "order_status"
    assert zh["intent"]["name"] == "order_status"
    for parsed in (en, zh):
        names = [r["name"] for r in parsed["intent_ranking"]]
        assert INTENTS <= set(names)  # the full ranking, not a top-10 cut
        total = sum(r["confidence"] for r in parsed["intent_ranking"] if r["name"] in INTENTS)
        assert total == pytest.approx(1.0, abs=1e-3)
        assert 0.0 <= parsed["intent"]["confidence"] <= 1.0


def test_language_entity_is_added(agent: Any) -> None:
    en, zh, neutral = _parse(agent, ["hello", "你好", "12345"])
    assert {"entity": "language", "value": "en", "start": 0, "end": 0, "extractor": "CanyuLanguage"} in en["entities"]
    assert any(e["entity"] == "language" and e["value"] == "zh" for e in zh["entities"])
    assert not any(e["entity"] == "language" for e in neutral["entities"])


@pytest.mark.parametrize("text", ["", "a" * 10_000, "😀😀", "订" * 10_000, "   "])
def test_odd_messages_classify_without_error(agent: Any, text: str) -> None:
    (parsed,) = _parse(agent, [text])
    assert parsed["intent"]["name"] in INTENTS | {"nlu_fallback"}
    assert parsed["intent_ranking"]


def test_empty_message_falls_back(agent: Any) -> None:
    (parsed,) = _parse(agent, ["   "])
    assert parsed["intent"]["name"] == "nlu_fallback"
    assert len(parsed["intent_ranking"]) == len(INTENTS) + 1


def test_out_of_scope_is_recognised(agent: Any) -> None:
    (parsed,) = _parse(agent, ["what's the weather like in Paris tomorrow"])
    assert parsed["intent"]["name"] in {"out_of_scope", "nlu_fallback"}


def test_model_archive_round_trip_gives_identical_predictions(trained: Dict[str, Any], agent: Any) -> None:
    from rasa.core.agent import Agent

    again = Agent.load(trained["model"])
    texts = ["does the band have gps", "充电宝能上飞机吗", "hi"]
    first, second = _parse(agent, texts), _parse(again, texts)
    for a, b in zip(first, second, strict=True):
        assert a["intent"] == b["intent"]
        assert [r["name"] for r in a["intent_ranking"]] == [r["name"] for r in b["intent_ranking"]]


class Components:
    """A featurizer that has featurized the NLU data, and classifiers sharing its model storage."""

    def __init__(self, path: Path) -> None:
        from rasa.engine.graph import ExecutionContext, GraphSchema
        from rasa.engine.storage.local_model_storage import LocalModelStorage
        from rasa.engine.storage.resource import Resource
        from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

        from bot.nlu import CanyuSentenceFeaturizer

        self.storage = LocalModelStorage(path)
        self.context = ExecutionContext(GraphSchema({}), node_name="clf")
        self.data = RasaYAMLReader().reads(textwrap.dedent(NLU))
        self.featurizer = CanyuSentenceFeaturizer.create({}, self.storage, Resource("feat"), self.context)
        self.featurizer.process_training_data(self.data)

    def classifier(self, config: Dict[str, Any], name: str = "clf", load: bool = False) -> Any:
        """A trained classifier (or, with `load`, the one trained under `name` loaded from storage)."""
        from rasa.engine.storage.resource import Resource

        from bot.nlu import CanyuIntentClassifier

        if load:
            return CanyuIntentClassifier.load(config, self.storage, Resource(name), self.context)
        component = CanyuIntentClassifier.create(config, self.storage, Resource(name), self.context)
        component.train(self.data)
        return component

    def classify(self, component: Any, texts: List[str]) -> List[Tuple[str, float]]:
        from rasa.shared.nlu.training_data.message import Message

        messages = [Message.build(text=t) for t in texts]
        self.featurizer.process(messages)
        component.process(messages)
        return [(m.get("intent")["name"], round(m.get("intent")["confidence"], 5)) for m in messages]


def test_classifier_persist_and_load_through_model_storage(tmp_path: Path) -> None:
    parts = Components(tmp_path)
    trained = parts.classifier({"threshold": 0.2})
    loaded = parts.classifier({"threshold": 0.2}, load=True)
    texts = ["track my parcel", "小米14电池多大", ""]
    assert parts.classify(trained, texts) == parts.classify(loaded, texts)
    assert loaded.report["threshold"] == 0.2


def test_encoder_returns_normalised_float32_and_caches(tmp_path: Path) -> None:
    from bot.embeddings import _DiskCache, caches_disabled, get_encoder

    encoder = get_encoder()
    assert encoder.dim == 384 and encoder.name
    vectors = encoder.encode(["hello", "你好", "", "😀"], batch_size=2)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    before = dict(encoder.stats)
    again = encoder.encode(["hello"])
    assert encoder.stats["encoded"] == before["encoded"]  # served from the cache
    with caches_disabled():
        cold = encoder.encode(["hello"])
    assert encoder.stats["encoded"] == before["encoded"] + 1
    # the same text alone or in a padded batch: equal up to bfloat16 rounding where that is used
    assert float(again[0] @ cold[0]) > 0.9999 and float(again[0] @ vectors[0]) > 0.9999
    assert get_encoder() is encoder

    disk = _DiskCache(tmp_path / "cache.sqlite", 3)
    disk.put_many([(b"k1", np.array([1, 2, 3], dtype=np.float32))])
    assert disk.get_many([b"k1", b"k2"])[b"k1"].tolist() == [1.0, 2.0, 3.0]


def test_chinese_messages_get_the_multilingual_block_and_others_the_english_one() -> None:
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.message import Message

    from bot.embeddings import get_encoder
    from bot.nlu import CanyuSentenceFeaturizer

    context = ExecutionContext(GraphSchema({}), node_name="feat")
    featurizer = CanyuSentenceFeaturizer.create(
        {"model_zh": "multilingual-e5-small"}, LocalModelStorage(Path(".")), Resource("feat"), context
    )
    messages = [Message.build(text=t) for t in ["where is my order", "我的订单到哪了", "Band 9 有GPS吗"]]
    featurizer.process(messages)
    en, zh, mixed = (m.get_dense_features("text")[1].features.reshape(-1) for m in messages)
    assert en.shape == zh.shape == (768,)
    assert np.allclose(en[384:], 0) and np.linalg.norm(en[:384]) == pytest.approx(1.0, abs=1e-3)
    assert np.allclose(zh[:384], 0) and np.allclose(mixed[:384], 0)
    expected = get_encoder("multilingual-e5-small").encode(["我的订单到哪了"])[0]
    assert np.allclose(zh[384:], expected, atol=1e-5)
    # the multilingual model reads Chinese: a paraphrase is nearer than an unrelated question
    e5 = get_encoder("multilingual-e5-small")
    order, parcel, weather = e5.encode(["我的订单到哪了", "快递什么时候到", "明天会下雨吗"])
    assert order @ parcel > order @ weather


def test_out_of_scope_gate_is_fitted_and_survives_persist_and_load(tmp_path: Path) -> None:
    parts = Components(tmp_path)
    trained = parts.classifier({})
    gate = trained.report["gate"]
    assert set(gate) == {"confidence", "out_of_scope", "nearest", "bias"}
    assert gate["confidence"] > 0 or gate["nearest"] > 0  # more confident / more similar = more in scope
    loaded = parts.classifier({}, load=True)
    texts = ["where is my order", "quantum chromodynamics homework"]
    first = parts.classify(trained, texts)
    assert first == parts.classify(loaded, texts)
    assert first[0][0] == "order_status"
    assert first[1][0] in {"out_of_scope", "nlu_fallback"}


def test_gate_score_rises_with_in_scope_signals_and_falls_with_the_out_of_scope_class() -> None:
    from bot.nlu.model import Gate

    rng = np.random.default_rng(0)
    n = 200
    is_oos = np.array([False] * n + [True] * n)
    signals = {
        "confidence": np.concatenate([rng.uniform(0.5, 1.0, n), rng.uniform(0.2, 0.9, n)]),
        "nearest": np.concatenate([rng.uniform(0.6, 1.0, n), rng.uniform(0.1, 0.6, n)]),
        "out_of_scope": np.concatenate([rng.uniform(0.0, 0.4, n), rng.uniform(0.2, 1.0, n)]),
    }
    gate = Gate.fit(signals, is_oos)
    weights = gate.describe()
    assert weights["confidence"] > 0 and weights["nearest"] > 0 and weights["out_of_scope"] < 0
    scores = gate(signals)
    assert scores[:n].mean() > 0.7 > 0.3 > scores[n:].mean()
    one = {name: values[:1] for name, values in signals.items()}
    assert gate(one)[0] == pytest.approx(scores[0])  # one message scores as in a batch


def test_a_model_saved_with_the_old_two_signal_gate_still_decides() -> None:
    from bot.nlu.model import as_gate

    gate = as_gate((4.5, 2.9, -5.6))
    assert gate is not None and gate.names == ("confidence", "nearest")
    scores = gate({"confidence": np.array([0.9, 0.1]), "nearest": np.array([0.8, 0.1])})
    assert scores[0] > 0.5 > scores[1]


def test_a_model_pickled_under_the_classes_old_module_path_still_loads() -> None:
    """Models trained before the split pickled `bot.nlu.classifier._Model`, `_Gate` and `_Neighbours`."""
    import pickle

    from bot.nlu.model import Gate, Model, Neighbours

    model = Model(2.0, 1.0, 0.5, 42)
    model.gate = Gate(("confidence", "nearest"), (4.5, 2.9), -5.6)
    model.neighbours = Neighbours(np.eye(2, dtype=np.float32), ["a", "b"], ["a", "b"], np.array([True, True]), 3)
    data = pickle.dumps(model, protocol=0)
    for name in ("Model", "Gate", "Neighbours"):
        new, old = f"cbot.nlu.model\n{name}\n".encode(), f"cbot.nlu.classifier\n_{name}\n".encode()
        assert new in data
        data = data.replace(new, old)
    loaded = pickle.loads(data)
    assert isinstance(loaded, Model) and isinstance(loaded.gate, Gate) and isinstance(loaded.neighbours, Neighbours)
    assert loaded.gate.describe() == model.gate.describe()


def test_precision_setting_is_checked_and_bf16_stays_close_to_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.embedding_models import EmbeddingSettings, SentenceTransformerModel, bundled_model_path, resolve_precision
    from bot.errors import ConfigError

    with pytest.raises(ConfigError, match="CANYU_EMBEDDING_PRECISION"):
        resolve_precision(EmbeddingSettings.from_env({"CANYU_EMBEDDING_PRECISION": "fp8"}))
    texts = ["where is my card", "I was charged twice for one coffee", "订单到哪了"]
    vectors = {}
    for precision in ("fp32", "bf16"):
        settings = EmbeddingSettings.from_env({"CANYU_EMBEDDING_PRECISION": precision})
        model = SentenceTransformerModel(str(bundled_model_path()), "bundled", settings)
        assert model.precision == precision
        vectors[precision] = model.encode(texts, batch_size=2, show_progress=False)
    cosine = (vectors["fp32"] * vectors["bf16"]).sum(axis=1)
    assert cosine.min() > 0.999


def test_neighbour_vote_is_the_mean_of_the_k_most_similar_examples_per_intent() -> None:
    from bot.nlu.model import Neighbours

    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((300, 16)).astype(np.float32)
    vectors[:, 8:] = 0  # an all-zero block (the zh half of an English-only bot) is dropped, not misread
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = [f"intent{i % 4}" for i in range(299)] + ["rare"]  # "rare" has one example, fewer than k
    classes = sorted(set(labels))
    inscope = np.array([label != "intent3" for label in labels])
    queries = rng.standard_normal((50, 16)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)

    votes, nearest = Neighbours(vectors, labels, classes, inscope, k=3)(queries)

    sims = queries @ vectors.T
    for j, name in enumerate(classes):
        mine = np.sort(sims[:, [i for i, label in enumerate(labels) if label == name]], axis=1)[:, -3:]
        assert np.allclose(votes[:, j], mine.mean(axis=1), atol=1e-5), name
    assert np.allclose(nearest, sims[:, inscope].max(axis=1), atol=1e-5)


@pytest.mark.parametrize(
    "config, option",
    [({"knn_weight": -1}, "knn_weight"), ({"knn_weight": "lots"}, "knn_weight"), ({"knn_k": 0}, "knn_k"),
     ({"threshold": 1.5}, "threshold"), ({"C": 0}, "C"), ({"C": "big"}, "C"), ({"C": True}, "C")],
)
def test_classifier_config_errors_name_the_option(config: Dict[str, Any], option: str) -> None:
    from rasa.shared.exceptions import InvalidConfigException

    from bot.nlu import CanyuIntentClassifier

    with pytest.raises(InvalidConfigException, match=f"config.yml: CanyuIntentClassifier {option}"):
        CanyuIntentClassifier.validate_config(config)


def test_neighbour_vote_weight_is_chosen_on_held_out_data_and_changes_the_scores(tmp_path: Path) -> None:
    from bot.nlu.tuning import KNN_WEIGHTS

    parts = Components(tmp_path)
    confidences = {}
    for weight in ("auto", 0, 4):
        clf = parts.classifier({"knn_weight": weight, "threshold": None}, name=f"clf{weight}")
        assert clf.report["knn_weight"] in (KNN_WEIGHTS if weight == "auto" else (weight,))
        [(intent, confidence)] = parts.classify(clf, ["has my parcel shipped"])
        assert intent == "order_status"
        confidences[weight] = confidence
    assert confidences[0] != pytest.approx(confidences[4], abs=1e-4)


def test_svm_c_is_chosen_on_held_out_accuracy_with_ties_to_the_smaller() -> None:
    from bot.nlu import CanyuIntentClassifier

    clf = CanyuIntentClassifier({"knn_weight": 0}, None, None)  # type: ignore[arg-type]
    classes, labels = ["a", "b"], ["a", "b", "b", "oos"]  # "oos" is not a class: it does not count
    right, wrong = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 0.0]]), np.array([[0.0, 1.0]] * 4)
    chosen, report = clf._tuner().choose_c(classes, {0.25: wrong, 0.5: right, 1.0: right, 2.0: wrong}, None, labels)
    assert chosen == 0.5
    assert report["C_tuning_accuracy"] == {"0.25": round(2 / 3, 4), "0.5": 1.0, "1.0": 1.0, "2.0": round(2 / 3, 4)}
    assert clf._tuner().choose_c(classes, {1.0: wrong}, None, labels) == (1.0, {"C": 1.0})  # a fixed C is kept
    assert clf._tuner().choose_c(classes, {0.25: wrong, 0.5: wrong}, None, [])[0] == 0.5  # nothing to tune on


def test_svm_c_auto_tries_the_grid_and_a_fixed_c_is_used_as_given(tmp_path: Path) -> None:
    from bot.nlu.tuning import C_GRID

    parts = Components(tmp_path)
    auto = parts.classifier({"threshold": None}, name="c-auto")
    assert auto.report["C"] in C_GRID and auto._model.c == auto.report["C"]
    assert set(auto.report["C_tuning_accuracy"]) == {str(c) for c in C_GRID}
    fixed = parts.classifier({"threshold": None, "C": 3.0}, name="c-fixed")
    assert fixed.report["C"] == 3.0 and fixed._model.svm.C == 3.0 and "C_tuning_accuracy" not in fixed.report
    [(intent, _)] = parts.classify(fixed, ["has my parcel shipped"])
    assert intent == "order_status"

