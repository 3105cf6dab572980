"""What the knowledge base holds no figure or answer for ("14pro运行内存多大", "is the band ok for sensitive skin",
"密码忘了"): a question naming one of these is never answered with a figure (`bot.knowledge.spec_words.excluded`) nor
with an answer that does not mention it (`bot.knowledge.retriever`, "asks about … which the answer never mentions").
When the KB gains an answer for one of them, delete its words here.
"""

from __future__ import annotations

import re
from typing import Optional

from bot.knowledge.text import normalise

__all__ = ["UNHELD", "unheld_spec"]

# Specs products.yml does not hold: "how much RAM" must not be answered with the price.
UNHELD = re.compile(r"\bram\b|屏占比|screen[- ]to[- ]body|(?<![a-z])ppi(?![a-z])|像素密度|指纹|fingerprint|硅碳|负极|"
                      r"silicon[- ]carbon|扬声器|喇叭|双扬|立体声|stereo|gorilla|康宁|能(?:直接)?[接打]电话|"
                      r"\b(?:take|answer|make) (?:phone )?calls\b|(?<![a-z])(?:ldac|aptx|pd)(?![a-z])|"
                      r"multi-?point|多点连接|一边连[^，。？?！!]{1,8}一边连|同时连(?:两|2|俩)|\b(?:two|2) devices at once\b|"
                      r"延时摄影|延时视频|time-?lapse|星空|\bastro\w*|\bstarry\b|"
                      # another maker's charger: whether it fast-charges ours is nothing products.yml says
                      r"(?:别家|别的牌子|其他品牌|其他牌子|第三方)的?\s?(?:\d+\s?w\s?的?)?(?:充电器|充电头|头)|"
                      r"\b(?:third[- ]party|other brands?'?s?|non-?official) (?:\d+\s?w )?(?:chargers?|bricks?)\b|"
                      # what a part is made of or certified as, how many cycles a battery takes, a readout on the case
                      r"蓝宝石|\bsapphire\b|什么玻璃|玻璃材质|电芯|\bbattery cells?\b|护眼|莱茵|rheinland|认证|\bcertif\w*|"
                      r"充放电次数|循环(?:次数|寿命)|\bcharge cycles?\b|\bcycle count\b|抬手亮屏|\b(?:raise|lift) to wake\b|"
                      r"数字显示|显示电量|\bbattery (?:percentage|indicator)\b|"
                      # features and deals no entry speaks of: lens brands, stabilisation, satellite calls, app twins,
                      # student or bulk prices, materials, drop resistance, game latency, a pouch
                      r"光学防抖|防抖|\bois\b|\b(?:optical )?image stabili[sz]\w*|徕卡|\bleica\b|蔡司|\bzeiss\b|哈苏|\bhasselblad\b|"
                      r"卫星|\bsatellite\b|5g-?a(?![a-z])|5\.5g|两个微信|双开|应用分身|\bdual apps?\b|\bapp (?:twin|clone)s?\b|"
                      r"学生(?:优惠|价|折扣)|\bstudent (?:discount|price|deal)s?\b|批发|团购|企业采购|\bwholesale\b|"
                      r"\bbulk (?:order|discount|price|buy)\w*|(?<!屏幕)(?<!屏)材质|\bmade of\b|\bmaterials?\b|抗摔|\bdrop[- ]?(?:proof|resistan\w*)\b|"
                      r"(?:游戏|打游戏)?延迟(?:高|大|低|多少)|低延迟|\blatency\b|收纳(?:袋|包)|\bpouch\b|"
                      r"video resolution|视频分辨率|录像分辨率|4k\s?(?:30|60|120)|延长保修|延保|\bextended warranty\b|"
                      r"\bwarranty extension\b|\bextend\w* (?:the )?warranty\b|\bstretch the warranty\b|"
                      r"\b(?:connected|paired|connect|pair)\b[^.?!]{0,40}\b(?:at once|at the same time|simultaneously)\b|"
                      # "能同时绑我和老婆两个人的手机吗": two phones on one band (not two devices charged at once)
                      r"(?:同时|一起)(?:绑定?|配对|连接?)(?![^，。？?！!]{0,12}充)[^，。？?！!]{0,12}(?:两|2|俩|多)(?:个|台|部)?(?:人|手机|设备)|体温|\b(?:skin|body) temp\w*|血压|blood pressure|血糖|blood (?:sugar|glucose)|心电|\be[ck]g\b|频响|frequency response|\bcodecs?\b|"
                      r"运行内存|运存|"
                      r"(?:前置|前摄|自拍|超广角|广角|微距|front|selfie|ultra-?wide|macro)[\w ]{0,12}?(?:像素|megapixels?|mp\b)|bluetooth version|蓝牙版本|\bsar\b|"
                      # features and figures no entry holds: slow motion, frame rates, translation, a clock on the dark screen, a scale
                      r"(?<![a-z])pwm(?![a-z])|调光|\bdimming\b|慢动作|slow[- ]?mo\w*|帧率|多少帧|几帧|(?<![a-z])fps(?![a-z])|翻译|\btranslat\w*|[熄息]屏(?:时钟|显示)(?![^，。？?！!]{0,6}(?:撑|续航|用几天|用多久|几天))|"
                      r"\bclock when the screen is off\b|体重秤|体脂秤|smart scale|"
                      # sleep apnoea or snoring (the band tracks sleep stages only); gifts or memberships with a purchase
                      # (snoring said as the reason for noise cancelling is the earbuds' question: "roommate snores")
                      r"呼吸暂停|\bsleep apno?ea\b|\bapno?ea\b|(?:测|监测|检测|识别|发现|记录)[^，。？?！!]{0,8}(?:打鼾|打呼)|"
                      r"(?:打鼾|打呼噜?)[^，。？?！!]{0,6}(?:监测|检测|测)|\b(?:detect|track|monitor|record|tell)\w*\b[^.?!]{0,30}\bsnor\w*|"
                      r"赠品|送(?:不送)?(?:会员|礼品|礼物|赠品)|\bfree (?:gifts?|goodies|stuff)\b|\bfreebies?\b|"
                      # a model to come: "when's the next phone launching" (not the current ones' release dates)
                      r"\bnext (?:phone|model|gen\w*|generation|flagship|band|buds|pro)\b|下一代|下一款|"
                      # paying with the band itself ("手环能刷支付宝吗"), not paying for it ("can i pay for the band with alipay")
                      r"(?<![买购])(?<!买个)(?<!买的)手环\s?9?\s?(?:能|可以|支持|能不能|可不可以)(?:直接)?(?:用|刷)?(?:微信支付|支付宝|刷卡|付款|支付|刷公交)|"
                      r"\bband\s?9?\s(?:support|supports|do|does|have|has|work with)\s(?:wechat pay|alipay|apple pay|google pay|"
                      r"nfc pay\w*|contactless|微信支付|支付宝)|"
                      r"(?:像素|megapixels?|\bmp\b)[\w ]{0,24}?(?:前置|自拍|front|selfie|ultra-?wide|macro)|(?<![0-9a-z])8k(?![a-z])|"
                      r"蓝牙\s?(?:几|\d\.\d|芯片|版本|协议|编码)|bluetooth \d|brightness|(?<![a-z])nits?(?![a-z])|亮度|尼特|"
                      r"thick\w*|\bthin(?:ner|nest)?\b|\bslim\w*|\bhow tall\b|\bheight\b|\bwidth\b|长宽|多宽|"
                      r"厚度|多厚|曲面|直屏|\bcurved\b|\bdimensions?\b|长宽高|机身尺寸|机身大小|reverse (?:wireless )?charg\w*|反向(?:无线)?充|红外|\bir blaster|"
                      r"(?<![a-z])gps(?![a-z])|benchmark|antutu|跑分|安兔兔|(?<![a-z])nm(?![a-z])|纳米|制程|"
                      # who makes a part: "who makes the screen panel on the 14", "屏幕是哪家供应的"
                      r"\bwho (?:makes|made|supplies|manufactures)\b|\bsuppli(?:er|ed)\w*|供应商|哪家(?:供应|生产|做)|谁家的|哪个厂|"
                      # an account's password or log-in, the menus' language, a lunar calendar, apps installed on the band
                      r"密码|\bpasswords?\b|登不上|登录不上|登不进|登录不了|\bcan'?t (?:log|sign) in|\blocked out of\b|英文界面|中文界面|界面语言|"
                      r"系统语言|(?:设置|设成|调成|改成|切换成?)(?:英文|英语|中文)|\b(?:interface|system|menu|display) language\b|农历|"
                      r"\blunar\b|第三方(?:app|应用|软件)|\bthird[- ]party apps?\b|(?:装|安装|下载)(?:个|别的)?(?:app|应用|软件)|"
                      # the left/right balance, parcel lockers, who owns us and where the head office is
                      r"声道|左右音量|\b(?:left[- /]right|audio|sound|volume) balance\b|驿站|快递柜|"
                      r"\bparcel lockers?\b|总部|(?:你们|公司)的?老板|\bheadquarters?\b|\bhq\b|\bceo\b|\bwho owns\b|"
                      # one earbud on its own, skin allergies, the phone as a webcam, where a screen is made
                      r"单独用一只|一只(?:耳机)?单独用|只(?:戴|用)一只|单耳(?:模式|使用|用)|\b(?:use|wear) (?:just )?(?:one|a single) (?:earbud|bud)\b|"
                      r"\bmono mode\b|过敏|敏感肌|\bsensitive skin\b|\ballerg\w*|\bwebcam\b|网络摄像头|当(?:电脑)?摄像头|国产屏|"
                      # the sound lagging behind a video; other makers' health and sports platforms the band's data would go to
                      r"声音和画面对不上|音画不同步|声画不同步|\blip[- ]?sync\b|\baudio (?:lag|delay)\b|\bout of sync\b|"
                      r"微信运动|支付宝运动|\bwechat sports?\b|\bgoogle fit\b|\bapple health\b|\bstrava\b|\bhealth ?kit\b|"
                      r"\bgarmin\b|\bfitbit\b|\bzepp\b|\bsamsung health\b|华为运动健康|华为健康|"
                      # the phone in a car's screen
                      r"\bandroid auto\b|\bcar ?play\b|carlife|车机|车载(?:互联|投屏|系统)|"
                      # the earbuds' tips and their sizes (耳塞 alone is also a word for the earbuds themselves)
                      r"耳帽|硅胶套|[大中小]号(?:的)?耳塞|耳塞(?:套|尺寸|大小|型号)|\bear ?tips?\b",
                      re.IGNORECASE)


def unheld_spec(question: str) -> Optional[str]:
    """The thing the knowledge base does not hold that the question asks about ("14pro运行内存多大" → "运行内存"), or None."""
    found = UNHELD.search(normalise(question))
    return found.group(0) if found else None
